# expect: memory_limit
# Allocates and touches memory until the cgroup says no.
chunks = []
while True:
    chunks.append(bytearray(8 << 20))
