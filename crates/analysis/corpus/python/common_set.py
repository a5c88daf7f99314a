# expect: common O(n + m)
def common(a, b):
    lookup = set(b)
    return [x for x in a if x in lookup]
