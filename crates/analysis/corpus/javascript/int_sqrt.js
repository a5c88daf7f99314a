// expect: intSqrt O(log x)
function intSqrt(x) {
  let lo = 0, hi = x;
  while (lo <= hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (mid * mid <= x) lo = mid + 1;
    else hi = mid - 1;
  }
  return hi;
}
