# Tricky: looks like the hash version, but `seen` is a list, so `in` scans it.
# expect: two_sum O(n^2)
def two_sum(nums, target):
    seen = []
    for i, x in enumerate(nums):
        if target - x in seen:
            return [seen.index(target - x), i]
        seen.append(x)
    return []
