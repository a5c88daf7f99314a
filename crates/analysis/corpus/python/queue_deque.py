# expect: drain O(n)
from collections import deque


def drain(items):
    q = deque(items)
    out = []
    while q:
        out.append(q.popleft())
    return out
