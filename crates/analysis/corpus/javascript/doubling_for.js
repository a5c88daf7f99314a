// expect: countDoublings O(n log n)
function countDoublings(n) {
  let c = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 1; j < n; j *= 2) c++;
  }
  return c;
}
