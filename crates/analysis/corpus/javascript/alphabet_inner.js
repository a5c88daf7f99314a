// The inner loop is bounded by the alphabet (26), not by the input.
// expect: firstUnique O(n)
function firstUnique(words) {
  for (const w of words) {
    const counts = new Array(26).fill(0);
    for (let c = 0; c < 26; c++) counts[c] = 0;
    if (counts[0] === 0) return w;
  }
  return null;
}
