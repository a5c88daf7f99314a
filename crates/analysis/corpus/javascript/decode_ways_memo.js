// expect: numDecodings O(n)
// expect: numDecodings.go O(n)
function numDecodings(s) {
  const memo = new Map();
  function go(i) {
    if (i === s.length) return 1;
    if (s[i] === "0") return 0;
    if (memo.has(i)) return memo.get(i);
    let ways = go(i + 1);
    if (i + 1 < s.length && Number(s.slice(i, i + 2)) <= 26) ways += go(i + 2);
    memo.set(i, ways);
    return ways;
  }
  return go(0);
}
