// expect: total O(n)
const total = (xs) => xs.reduce((acc, x) => acc + x, 0);
