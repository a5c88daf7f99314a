# The inner loop runs n/p times for each prime p: n log log n in total.
# expect: primes_up_to O(n log log n)
# known disagreement: primes_up_to O(n^2)
def primes_up_to(n):
    is_prime = [True] * (n + 1)
    is_prime[0] = is_prime[1] = False
    for i in range(2, n + 1):
        if is_prime[i]:
            for j in range(i * i, n + 1, i):
                is_prime[j] = False
    return [i for i in range(n + 1) if is_prime[i]]
