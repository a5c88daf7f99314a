// Values are in 0..k: one pass over the input, one over the counts.
// expect: countSort O(n + k)
function countSort(arr, k) {
  const counts = new Array(k + 1).fill(0);
  for (const x of arr) counts[x]++;
  const out = [];
  for (let v = 0; v <= k; v++) for (let c = 0; c < counts[v]; c++) out.push(v);
  return out;
}
