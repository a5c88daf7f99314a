# The inner while only ever moves `left` forward: O(n) in total, not O(n^2).
# expect: longest O(n)
def longest(s):
    seen = set()
    left = 0
    best = 0
    for right in range(len(s)):
        while s[right] in seen:
            seen.remove(s[left])
            left += 1
        seen.add(s[right])
        best = max(best, right - left + 1)
    return best
