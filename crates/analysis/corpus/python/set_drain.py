# expect: drain O(n)
def drain(items):
    s = set(items)
    out = []
    while s:
        out.append(s.pop())
    return out
