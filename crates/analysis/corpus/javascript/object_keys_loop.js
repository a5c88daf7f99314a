// expect: invert O(n)
function invert(obj) {
  const out = {};
  for (const key of Object.keys(obj)) {
    out[obj[key]] = key;
  }
  return out;
}
