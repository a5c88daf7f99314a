# expect: total O(n)
# expect: report O(n)
def total(xs):
    s = 0
    for x in xs:
        s += x
    return s


def report(xs):
    t = total(xs)
    return "sum=" + str(t)
