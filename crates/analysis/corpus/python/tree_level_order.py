# expect: level_order O(n)
from collections import deque


def level_order(root):
    out = []
    q = deque([root])
    while q:
        node = q.popleft()
        if node:
            out.append(node.val)
            q.append(node.left)
            q.append(node.right)
    return out
