# Each of the n words is upper-cased: O(length of the word), m at most.
# expect: shout O(n·m)
def shout(words):
    parts = []
    for w in words:
        parts.append(w.upper())
    return " ".join(parts)
