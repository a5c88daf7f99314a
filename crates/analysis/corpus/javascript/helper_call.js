// expect: isPrime O(n)
// expect: countPrimes O(n^2)
function isPrime(n) {
  if (n < 2) return false;
  for (let d = 2; d < n; d++) {
    if (n % d === 0) return false;
  }
  return true;
}

function countPrimes(n) {
  let count = 0;
  for (let i = 0; i < n; i++) {
    if (isPrime(i)) count++;
  }
  return count;
}
