// reverse(a, i, j) swaps j - i times: O(j - i), written O(j) (number parameters keep their names).
// expect: reverse O(j)
// expect: rotate O(n)
function reverse(a, i, j) {
  while (i < j) {
    [a[i], a[j]] = [a[j], a[i]];
    i++;
    j--;
  }
}

function rotate(a, k) {
  k %= a.length;
  reverse(a, 0, a.length - 1);
  reverse(a, 0, k - 1);
  reverse(a, k, a.length - 1);
  return a;
}
