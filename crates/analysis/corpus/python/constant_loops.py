# expect: directions O(1)
def directions():
    out = []
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            if dr or dc:
                out.append((dr, dc))
    return out
