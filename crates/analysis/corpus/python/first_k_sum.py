# Only the first k items are read.
# expect: first_k_sum O(k)
def first_k_sum(nums, k):
    total = 0
    for i in range(k):
        total += nums[i]
    return total
