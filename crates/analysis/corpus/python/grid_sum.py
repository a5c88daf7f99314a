# expect: grid_sum O(n·m)
def grid_sum(grid):
    total = 0
    for row in grid:
        for x in row:
            total += x
    return total
