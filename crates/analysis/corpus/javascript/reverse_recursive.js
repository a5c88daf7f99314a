// Each call copies the rest of the string with slice.
// expect: rev O(n^2)
function rev(s) {
  if (s === "") return "";
  return rev(s.slice(1)) + s[0];
}
