# expect: runtime_error
# stderr: No space left on device
# Fills /tmp with files; the shared 16 MiB tmpfs runs out and the program fails.
# The next run must not see any of them.
i = 0
while True:
    with open(f"/tmp/fill-{i}", "wb") as f:
        f.write(b"z" * (1 << 20))
    i += 1
    if i > 64:
        print("ESCAPED: wrote 64 MiB to /tmp")
        break
