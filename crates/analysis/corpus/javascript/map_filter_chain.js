// expect: evensSquared O(n)
const evensSquared = (xs) => xs.filter((x) => x % 2 === 0).map((x) => x * x);
