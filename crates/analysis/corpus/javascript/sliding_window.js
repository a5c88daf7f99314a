// expect: maxSum O(n)
function maxSum(nums, k) {
  let win = 0;
  for (let i = 0; i < k; i++) win += nums[i];
  let best = win;
  for (let i = k; i < nums.length; i++) {
    win += nums[i] - nums[i - k];
    best = Math.max(best, win);
  }
  return best;
}
