# The same recursion without a memo: up to two calls per position.
# expect: count O(2^n)
def count(s, i=0):
    if i == len(s):
        return 1
    if s[i] == "0":
        return 0
    ways = count(s, i + 1)
    if i + 1 < len(s) and int(s[i:i + 2]) <= 26:
        ways += count(s, i + 2)
    return ways
