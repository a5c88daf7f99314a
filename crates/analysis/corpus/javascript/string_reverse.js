// expect: reverse O(n)
function reverse(s) {
  return s.split("").reverse().join("");
}
