// expect: multiply O(n·m·k)
function multiply(A, B) {
  const n = A.length, k = B.length, m = B[0].length;
  const C = [];
  for (let i = 0; i < n; i++) {
    C.push(new Array(m).fill(0));
    for (let j = 0; j < m; j++) {
      for (let t = 0; t < k; t++) C[i][j] += A[i][t] * B[t][j];
    }
  }
  return C;
}
