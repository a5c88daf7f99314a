// expect: countOnes O(n·m)
function countOnes(grid) {
  let c = 0;
  for (const row of grid) {
    for (const cell of row) {
      if (cell === 1) c++;
    }
  }
  return c;
}
