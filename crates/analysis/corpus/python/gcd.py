# Euclid: the pair shrinks at least by half every two steps.
# expect: gcd O(log b)
def gcd(a, b):
    while b:
        a, b = b, a % b
    return a
