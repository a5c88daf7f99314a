# expect: runtime_error
# stderr: gaierror
# A DNS lookup fails: no resolver configuration and no network.
import socket
print(socket.getaddrinfo("example.com", 80))
print("ESCAPED: resolved example.com")
