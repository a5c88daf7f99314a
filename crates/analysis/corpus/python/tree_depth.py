# Two recursive calls, but each node is visited once: O(n), not O(2^n).
# expect: max_depth O(n)
def max_depth(root):
    if root is None:
        return 0
    return 1 + max(max_depth(root.left), max_depth(root.right))
