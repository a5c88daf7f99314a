# The heap never holds more than k items.
# expect: k_largest O(n log k)
import heapq


def k_largest(nums, k):
    heap = []
    for x in nums:
        heapq.heappush(heap, x)
        if len(heap) > k:
            heapq.heappop(heap)
    return heap
