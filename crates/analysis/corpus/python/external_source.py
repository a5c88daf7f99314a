# `load_rows` is not in this file: how many rows it returns cannot be known.
# expect: total_amount unknown
def total_amount(db):
    total = 0
    for row in db.load_rows():
        total += row["amount"]
    return total
