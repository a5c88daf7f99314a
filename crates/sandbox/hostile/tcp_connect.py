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
# Socket families that are not network-namespaced (vsock reaches the VM's host) or
# that sniff/craft packets must not even open.
for fam in ["AF_VSOCK", "AF_PACKET", "AF_BLUETOOTH", "AF_ALG", "AF_TIPC"]:
    if hasattr(socket, fam):
        try:
            socket.socket(getattr(socket, fam), socket.SOCK_STREAM if fam != "AF_PACKET" else socket.SOCK_RAW).close()
            print(f"ESCAPED: opened an {fam} socket")
        except OSError:
            pass
ifaces = [name for _, name in socket.if_nameindex()]
if ifaces != ["lo"]:
    print(f"ESCAPED: interfaces {ifaces}")
print("network unreachable")
