# expect: unique_paths O(n·m)
# expect: unique_paths.dp O(n·m)
from functools import lru_cache


def unique_paths(m, n):
    @lru_cache(None)
    def dp(i, j):
        if i == m - 1 or j == n - 1:
            return 1
        return dp(i + 1, j) + dp(i, j + 1)

    return dp(0, 0)
