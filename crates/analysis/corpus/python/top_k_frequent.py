# expect: top_k_frequent O(n log k)
from collections import Counter
import heapq


def top_k_frequent(nums, k):
    count = Counter(nums)
    return heapq.nlargest(k, count.keys(), key=count.get)
