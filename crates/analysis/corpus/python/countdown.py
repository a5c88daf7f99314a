# expect: countdown O(n)
def countdown(n):
    out = []
    for i in range(n, 0, -1):
        out.append(i)
    return out
