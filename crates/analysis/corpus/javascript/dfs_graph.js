// expect: dfs O(V + E)
function dfs(graph, node, visited = new Set()) {
  visited.add(node);
  for (const nb of graph[node]) {
    if (!visited.has(nb)) dfs(graph, nb, visited);
  }
  return visited;
}
