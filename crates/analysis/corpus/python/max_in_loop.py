# expect: leaders O(n^2)
def leaders(a):
    out = []
    for i in range(len(a)):
        if a[i] == max(a[i:]):
            out.append(a[i])
    return out
