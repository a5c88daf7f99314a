// expect: nearestExit O(n·m)
function nearestExit(maze, start) {
  const rows = maze.length, cols = maze[0].length;
  const seen = new Set([start.join(",")]);
  const queue = [[start[0], start[1], 0]];
  while (queue.length > 0) {
    const [r, c, d] = queue.pop();
    for (const [dr, dc] of [[1, 0], [-1, 0], [0, 1], [0, -1]]) {
      const nr = r + dr, nc = c + dc;
      const key = nr + "," + nc;
      if (nr >= 0 && nr < rows && nc >= 0 && nc < cols && maze[nr][nc] === "." && !seen.has(key)) {
        seen.add(key);
        queue.push([nr, nc, d + 1]);
      }
    }
  }
  return -1;
}
