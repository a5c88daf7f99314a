# expect: count_pairs O(n log n)
import bisect


def count_pairs(nums, target):
    nums = sorted(nums)
    count = 0
    for i, x in enumerate(nums):
        j = bisect.bisect_left(nums, target - x)
        count += j
    return count
