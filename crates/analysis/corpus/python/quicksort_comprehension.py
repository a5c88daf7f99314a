# Worst case: the pivot is the smallest element every time.
# expect: quicksort O(n^2)
def quicksort(a):
    if len(a) <= 1:
        return a
    pivot = a[0]
    less = [x for x in a[1:] if x < pivot]
    more = [x for x in a[1:] if x >= pivot]
    return quicksort(less) + [pivot] + quicksort(more)
