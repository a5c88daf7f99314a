# expect: rob O(n)
# expect: rob.best O(n)
def rob(houses):
    memo = {}

    def best(i):
        if i >= len(houses):
            return 0
        if i in memo:
            return memo[i]
        memo[i] = max(houses[i] + best(i + 2), best(i + 1))
        return memo[i]

    return best(0)
