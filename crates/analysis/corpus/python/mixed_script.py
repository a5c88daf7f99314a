# A whole script: helpers, a class, and top-level code reading its input.
# expect: read O(n)
# expect: solve O(n log n)
# expect: dedupe O(n^2)
# expect: Graph.__init__ O(n)
# expect: Graph.add O(1)
# expect: Graph.dfs O(V + E)
# expect: <module> O(n log n)
from bisect import bisect_right
import sys

def read():
    data = sys.stdin.read().split()
    return [int(x) for x in data]

def solve(nums):
    nums.sort()
    best = 0
    for i in range(len(nums)):
        j = bisect_right(nums, nums[i] * 2)
        best = max(best, j - i)
    return best

def dedupe(words):
    out = []
    for w in words:
        if w not in out:
            out.append(w)
    return out

class Graph:
    def __init__(self, n):
        self.adj = [[] for _ in range(n)]

    def add(self, u, v):
        self.adj[u].append(v)

    def dfs(self, u, seen):
        seen.add(u)
        for v in self.adj[u]:
            if v not in seen:
                self.dfs(v, seen)

if __name__ == "__main__":
    nums = read()
    print(solve(nums))
    print(dedupe(["a", "b"]))
