// expect: bfs O(V + E)
function bfs(graph, start) {
  const seen = new Set([start]);
  const queue = [start];
  let head = 0;
  const order = [];
  while (head < queue.length) {
    const node = queue[head++];
    order.push(node);
    for (const nb of graph[node]) {
      if (!seen.has(nb)) {
        seen.add(nb);
        queue.push(nb);
      }
    }
  }
  return order;
}
