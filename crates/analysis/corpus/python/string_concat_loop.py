# Python strings are immutable: each `+=` copies what was built so far.
# expect: build O(n^2)
def build(n):
    s = ""
    for i in range(n):
        s += str(i % 10)
    return s
