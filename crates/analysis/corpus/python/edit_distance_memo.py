# expect: edit_distance O(n·m)
# expect: edit_distance.go O(n·m)
from functools import cache


def edit_distance(s, t):
    @cache
    def go(i, j):
        if i == len(s):
            return len(t) - j
        if j == len(t):
            return len(s) - i
        if s[i] == t[j]:
            return go(i + 1, j + 1)
        return 1 + min(go(i + 1, j), go(i, j + 1), go(i + 1, j + 1))

    return go(0, 0)
