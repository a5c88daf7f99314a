// Only the first k items are read.
// expect: firstKSum O(k)
function firstKSum(nums, k) {
  let t = 0;
  for (let i = 0; i < k; i++) t += nums[i];
  return t;
}
