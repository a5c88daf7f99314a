# expect: reverse_copy O(n^2)
def reverse_copy(items):
    out = []
    for x in items:
        out.insert(0, x)
    return out
