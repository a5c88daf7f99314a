# expect: heap_sort O(n log n)
import heapq


def heap_sort(nums):
    heap = list(nums)
    heapq.heapify(heap)
    return [heapq.heappop(heap) for _ in range(len(heap))]
