# list.pop(0) shifts every remaining element.
# expect: drain O(n^2)
def drain(items):
    q = list(items)
    out = []
    while q:
        out.append(q.pop(0))
    return out
