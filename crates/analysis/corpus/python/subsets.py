# 2^n subsets, each copied (O(n)).
# expect: subsets O(n·2^n)
# expect: subsets.go O(n·2^n)
def subsets(nums):
    out = []
    path = []

    def go(start):
        out.append(path[:])
        for j in range(start, len(nums)):
            path.append(nums[j])
            go(j + 1)
            path.pop()

    go(0)
    return out
