// indexOf inside filter: a scan per element.
// expect: unique O(n^2)
const unique = (arr) => arr.filter((x, i) => arr.indexOf(x) === i);
