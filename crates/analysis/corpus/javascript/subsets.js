// expect: subsets O(n·2^n)
// expect: subsets.go O(n·2^n)
function subsets(nums) {
  const out = [];
  const path = [];
  const go = (start) => {
    out.push(path.slice());
    for (let j = start; j < nums.length; j++) {
      path.push(nums[j]);
      go(j + 1);
      path.pop();
    }
  };
  go(0);
  return out;
}
