# expect: common O(n·m)
def common(a, b):
    return [x for x in a if x in b]
