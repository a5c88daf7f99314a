# expect: count_pairs O(n log n)
def count_pairs(n):
    total = 0
    for i in range(n):
        j = 1
        while j < n:
            total += 1
            j *= 2
    return total
