# expect: ok
# stdout: network unreachable
# Tries the host's own services over loopback (PostgreSQL, Redis, the PeerCode
# default port) and an outside address: a run has its own empty network namespace.
import socket
for host, port in [("127.0.0.1", 5432), ("127.0.0.1", 6379), ("127.0.0.1", 4000), ("::1", 5432)]:
    try:
        socket.create_connection((host, port), timeout=1).close()
        print(f"ESCAPED: connected to {host}:{port}")
    except OSError as e:
        pass
ifaces = [name for _, name in socket.if_nameindex()]
if ifaces != ["lo"]:
    print(f"ESCAPED: interfaces {ifaces}")
print("network unreachable")
