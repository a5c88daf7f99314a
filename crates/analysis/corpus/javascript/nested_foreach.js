// expect: pairs O(n·m)
function pairs(a, b) {
  const out = [];
  a.forEach((x) => {
    b.forEach((y) => out.push([x, y]));
  });
  return out;
}
