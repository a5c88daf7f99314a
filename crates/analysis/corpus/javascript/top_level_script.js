// A script reading n, then printing an n x n table.
// expect: <module> O(n^2)
const n = parseInt(require("fs").readFileSync(0, "utf8"), 10);
for (let i = 0; i < n; i++) {
  let row = "";
  for (let j = 0; j < n; j++) row += (i * j) % 10;
  console.log(row);
}
