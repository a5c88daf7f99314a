# expect: prefix O(n)
# expect: range_sum O(1)
def prefix(nums):
    out = [0]
    for x in nums:
        out.append(out[-1] + x)
    return out


def range_sum(pre, i, j):
    return pre[j + 1] - pre[i]
