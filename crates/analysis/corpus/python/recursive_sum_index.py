# expect: total O(n)
def total(a, i=0):
    if i == len(a):
        return 0
    return a[i] + total(a, i + 1)
