// expect: permute O(n·n!)
// expect: permute.go O(n·n!)
function permute(nums) {
  const out = [];
  const used = new Array(nums.length).fill(false);
  const path = [];
  function go() {
    if (path.length === nums.length) {
      out.push([...path]);
      return;
    }
    for (let i = 0; i < nums.length; i++) {
      if (used[i]) continue;
      used[i] = true;
      path.push(nums[i]);
      go();
      path.pop();
      used[i] = false;
    }
  }
  go();
  return out;
}
