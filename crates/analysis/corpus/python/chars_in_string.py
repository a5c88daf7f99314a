# expect: count_jewels O(n·m)
def count_jewels(jewels, stones):
    count = 0
    for c in stones:
        if c in jewels:
            count += 1
    return count
