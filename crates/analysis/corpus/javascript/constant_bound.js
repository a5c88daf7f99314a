// A fixed 8x8 board: constant however big anything else is.
// expect: knightMoves O(1)
function knightMoves() {
  const moves = [[1, 2], [2, 1], [-1, 2], [-2, 1], [1, -2], [2, -1], [-1, -2], [-2, -1]];
  let count = 0;
  for (let r = 0; r < 8; r++) {
    for (let c = 0; c < 8; c++) {
      for (const [dr, dc] of moves) {
        if (r + dr >= 0 && r + dr < 8 && c + dc >= 0 && c + dc < 8) count++;
      }
    }
  }
  return count;
}
