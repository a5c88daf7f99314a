# expect: bits O(log n)
def bits(n):
    count = 0
    while n > 0:
        count += n & 1
        n //= 2
    return count
