# expect: is_anagram O(n log n + m log m)
def is_anagram(s, t):
    return sorted(s) == sorted(t)
