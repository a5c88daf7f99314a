// expect: repeatDigits O(n)
function repeatDigits(n) {
  let s = "";
  for (let i = 0; i < n; i++) s += String(i % 10);
  return s;
}
