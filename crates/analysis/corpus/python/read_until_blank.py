# Runs until the input says stop: no bound in terms of anything in the code.
# expect: <module> unknown
lines = []
while True:
    line = input()
    if not line:
        break
    lines.append(line)
print(len(lines))
