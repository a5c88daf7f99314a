// Tricky: `includes` and `indexOf` scan the array on every step.
// expect: twoSum O(n^2)
function twoSum(nums, target) {
  for (let i = 0; i < nums.length; i++) {
    const rest = nums.slice(i + 1);
    if (rest.includes(target - nums[i])) {
      return [i, i + 1 + rest.indexOf(target - nums[i])];
    }
  }
  return [];
}
