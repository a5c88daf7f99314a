# expect: swap_case O(n)
# known disagreement: swap_case O(n·m)
def swap_case(s):
    out = []
    for ch in s:
        out.append(ch.lower() if ch.isupper() else ch.upper())
    return "".join(out)
