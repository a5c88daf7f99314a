# The helper scans all of nums, and it is called once per element.
# expect: best_meeting_point O(n^2)
# expect: best_meeting_point.cost O(n)
def best_meeting_point(nums):
    def cost(x):
        return sum(abs(x - y) for y in nums)

    return min(cost(x) for x in nums)
