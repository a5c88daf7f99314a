# Lazy-deletion Dijkstra: every edge may push once, each heap operation O(log V)
# (log E = O(log V)).
# expect: dijkstra O(V log V + E log V)
import heapq


def dijkstra(graph, src):
    dist = {src: 0}
    pq = [(0, src)]
    while pq:
        d, u = heapq.heappop(pq)
        if d > dist.get(u, float("inf")):
            continue
        for v, w in graph[u]:
            nd = d + w
            if nd < dist.get(v, float("inf")):
                dist[v] = nd
                heapq.heappush(pq, (nd, v))
    return dist
