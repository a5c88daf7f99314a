# `i` jumps to where the inner scan stopped: each character is looked at a constant number of times.
# expect: rle O(n)
# known disagreement: rle O(n·m)
def rle(s):
    out = []
    i = 0
    while i < len(s):
        j = i
        while j < len(s) and s[j] == s[i]:
            j += 1
        out.append(s[i] + str(j - i))
        i = j
    return "".join(out)
