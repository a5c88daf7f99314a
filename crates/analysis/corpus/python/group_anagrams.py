# n words, each sorted: O(m log m) for a word of length m.
# expect: group_anagrams O(n·m log m)
def group_anagrams(words):
    groups = {}
    for w in words:
        key = "".join(sorted(w))
        groups.setdefault(key, []).append(w)
    return list(groups.values())
