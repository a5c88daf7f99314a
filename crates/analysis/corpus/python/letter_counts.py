# The second loop has a constant bound (26 letters).
# expect: most_common_letter O(n)
def most_common_letter(s):
    counts = [0] * 26
    for ch in s:
        counts[ord(ch) - ord("a")] += 1
    best = 0
    for i in range(26):
        if counts[i] > counts[best]:
            best = i
    return chr(best + ord("a"))
