# Each call copies the rest of the list: n + (n - 1) + ... = O(n^2).
# expect: total O(n^2)
def total(a):
    if not a:
        return 0
    return a[0] + total(a[1:])
