# expect: ok
# stdout: left files
# Leaves files in /tmp, /dev/shm and the work dir; the next run must not see them.
for p in ["/tmp/left-behind", "/dev/shm/left-behind", "/work/left-behind"]:
    with open(p, "w") as f:
        f.write("boo")
print("left files")
