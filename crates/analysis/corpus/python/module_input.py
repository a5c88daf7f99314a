# Top-level code reading its size from input.
# expect: <module> O(n^2)
n = int(input())
grid = []
for i in range(n):
    row = []
    for j in range(n):
        row.append(i * j)
    grid.append(row)
print(grid)
