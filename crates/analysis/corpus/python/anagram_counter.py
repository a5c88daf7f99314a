# expect: is_anagram O(n + m)
from collections import Counter


def is_anagram(s, t):
    return Counter(s) == Counter(t)
