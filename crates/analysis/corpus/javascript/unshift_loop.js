// expect: reversed O(n^2)
function reversed(xs) {
  const out = [];
  for (const x of xs) out.unshift(x);
  return out;
}
