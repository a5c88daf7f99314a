# expect: Solution.isPal O(n)
# expect: Solution.countPal O(n·m)
class Solution:
    def isPal(self, w):
        return w == w[::-1]

    def countPal(self, words):
        return sum(1 for w in words if self.isPal(w))
