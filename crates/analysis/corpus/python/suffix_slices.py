# Each slice copies the rest of the list.
# expect: suffix_sums O(n^2)
def suffix_sums(a):
    return [sum(a[i:]) for i in range(len(a))]
