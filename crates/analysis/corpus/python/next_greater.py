# Each index is pushed and popped once: the inner while is amortized O(1).
# expect: next_greater O(n)
def next_greater(nums):
    out = [-1] * len(nums)
    stack = []
    for i, x in enumerate(nums):
        while stack and nums[stack[-1]] < x:
            out[stack.pop()] = x
        stack.append(i)
    return out
