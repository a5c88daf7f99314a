# 2^n strings, and each call builds a prefix as long as its depth.
# expect: gen O(n·2^n)
def gen(n, prefix="", out=None):
    if out is None:
        out = []
    if n == 0:
        out.append(prefix)
        return out
    gen(n - 1, prefix + "a", out)
    gen(n - 1, prefix + "b", out)
    return out
