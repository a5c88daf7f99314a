// expect: byLength O(n log n)
function byLength(words) {
  return [...words].sort((x, y) => x.length - y.length);
}
