// expect: climb O(n)
function climb(n, memo = {}) {
  if (n <= 1) return 1;
  if (memo[n] !== undefined) return memo[n];
  memo[n] = climb(n - 1, memo) + climb(n - 2, memo);
  return memo[n];
}
