// Array.prototype.shift moves every element down.
// expect: drain O(n^2)
function drain(items) {
  const q = [...items];
  const out = [];
  while (q.length > 0) out.push(q.shift());
  return out;
}
