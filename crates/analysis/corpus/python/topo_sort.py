# Kahn's algorithm: counting in-degrees touches every edge once, so does the queue loop.
# expect: topo_order O(V + E)
from collections import deque


def topo_order(graph):
    indeg = {u: 0 for u in graph}
    for u in graph:
        for v in graph[u]:
            indeg[v] += 1
    q = deque(u for u in graph if indeg[u] == 0)
    order = []
    while q:
        u = q.popleft()
        order.append(u)
        for v in graph[u]:
            indeg[v] -= 1
            if indeg[v] == 0:
                q.append(v)
    return order
