// expect: halvings O(log n)
function halvings(n) {
  let steps = 0;
  while (n > 1) {
    n = n / 2;
    steps++;
  }
  return steps;
}
