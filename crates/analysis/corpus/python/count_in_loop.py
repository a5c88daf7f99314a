# `list.count` scans the whole list for every element.
# expect: singles O(n^2)
def singles(a):
    return [x for x in a if a.count(x) == 1]
