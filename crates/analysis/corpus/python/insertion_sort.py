# The inner while restarts from i - 1 on every outer step: no amortization here.
# expect: insertion_sort O(n^2)
def insertion_sort(a):
    for i in range(1, len(a)):
        key = a[i]
        j = i - 1
        while j >= 0 and a[j] > key:
            a[j + 1] = a[j]
            j -= 1
        a[j + 1] = key
    return a
