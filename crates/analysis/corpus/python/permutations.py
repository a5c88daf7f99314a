# n! orderings, each copied (O(n)) when complete.
# expect: permutations O(n·n!)
# expect: permutations.backtrack O(n·n!)
def permutations(nums):
    out = []
    used = [False] * len(nums)
    path = []

    def backtrack():
        if len(path) == len(nums):
            out.append(path[:])
            return
        for i in range(len(nums)):
            if used[i]:
                continue
            used[i] = True
            path.append(nums[i])
            backtrack()
            path.pop()
            used[i] = False

    backtrack()
    return out
