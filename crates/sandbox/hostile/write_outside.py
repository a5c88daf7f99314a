# expect: ok
# stdout: all writes refused
# Tries to write everywhere but the work dir and /tmp, including by `..`.
import os
targets = ["/usr/peercode-pwned", "/etc/peercode-pwned", "/peercode-pwned", "/bin/peercode-pwned",
           "/work/../peercode-pwned", "/tmp/../etc/passwd", "/work/../../usr/lib/pwned",
           "/proc/sys/kernel/hostname", "/proc/sysrq-trigger", "/dev/peercode-pwned",
           "/etc/passwd", "/usr/bin/python3"]
for t in targets:
    try:
        with open(t, "ab") as f:
            f.write(b"pwned")
        print(f"ESCAPED: wrote {t}")
    except OSError:
        pass
for d in ["/usr", "/etc", "/"]:
    try:
        os.mkdir(os.path.join(d, "peercode-pwned-dir"))
        print(f"ESCAPED: mkdir in {d}")
    except OSError:
        pass
print("all writes refused")
