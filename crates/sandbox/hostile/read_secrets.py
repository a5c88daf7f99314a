# expect: ok
# stdout: nothing to read
# Looks for host secrets: /etc/shadow, root's home, the server's data dir, the host's
# /proc and /sys, the repository the server runs from, init's environment.
import os
paths = ["/etc/shadow", "/etc/gshadow", "/etc/sudoers", "/root/.bash_history",
         "/root/.ssh", "/root", "/home", "/var/lib", "/peercode-data", "/work/../peercode-data",
         "/tmp/peercode-hostile-secret/secret.txt", "/sys/kernel", "/sys",
         "/proc/1/environ", "/proc/1/root/etc/shadow", "/proc/1/mem", "/proc/kcore",
         "/work/main", "/srv", "/var/run/docker.sock", "/run"]
for p in paths:
    try:
        if os.path.isdir(p):
            entries = os.listdir(p)
            if entries:
                print(f"ESCAPED: listed {p}: {entries[:5]}")
        else:
            with open(p, "rb") as f:
                data = f.read(64)
            print(f"ESCAPED: read {p}: {data!r}")
    except OSError:
        pass
cmd = open("/proc/1/cmdline", "rb").read()
if b"peercode-init" not in cmd and cmd:
    print(f"ESCAPED: pid 1 shows the server's command line {cmd!r}")
pids = [p for p in os.listdir("/proc") if p.isdigit()]
if len(pids) > 3:
    print(f"ESCAPED: sees {len(pids)} processes")
fds = sorted(int(f) for f in os.listdir("/proc/self/fd"))
if fds[:3] != [0, 1, 2] or len(fds) > 4:
    print(f"ESCAPED: inherited descriptors {fds}")
print("nothing to read")
