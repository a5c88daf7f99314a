// expect: dedupe O(n)
function dedupe(xs) {
  return [...new Set(xs)];
}
