# The inner loop runs i times: 0 + 1 + ... + (n - 1) = O(n^2).
# expect: pairs O(n^2)
def pairs(n):
    out = []
    for i in range(n):
        for j in range(i):
            out.append((j, i))
    return out
