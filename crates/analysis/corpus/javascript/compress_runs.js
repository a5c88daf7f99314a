// The outer index jumps to where the inner scan stopped: O(n) overall.
// expect: compress O(n)
function compress(s) {
  let out = "";
  let i = 0;
  while (i < s.length) {
    let j = i;
    while (j < s.length && s[j] === s[i]) j++;
    out += s[i] + (j - i);
    i = j;
  }
  return out;
}
