# expect: contains O(n)
# expect: intersect O(n·m)
def contains(arr, x):
    for y in arr:
        if y == x:
            return True
    return False


def intersect(a, b):
    out = []
    for x in a:
        if contains(b, x):
            out.append(x)
    return out
