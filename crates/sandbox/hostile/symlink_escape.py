# expect: ok
# stdout: symlinks lead nowhere
# Symlinks and hard links out of the work dir must only reach what the sandbox shows.
import os
os.chdir("/work")
for i, target in enumerate(["/etc/shadow", "/proc/1/root/etc/shadow", "/proc/1/cwd",
                            "/proc/self/root/../../etc/shadow", "../../../../etc/shadow",
                            "/tmp/peercode-hostile-secret/secret.txt"]):
    name = f"link{i}"
    os.symlink(target, name)
    try:
        if os.path.isdir(name):
            entries = os.listdir(name)
            if entries:
                print(f"ESCAPED: {target} lists {entries[:5]}")
        else:
            with open(name, "rb") as f:
                print(f"ESCAPED: {target} reads {f.read(32)!r}")
    except OSError:
        pass
for src in ["/etc/passwd", "/usr/bin/python3"]:
    try:
        os.link(src, "/work/hard")
        with open("/work/hard", "ab") as f:
            f.write(b"x")
        print(f"ESCAPED: hard link to {src} writable")
    except OSError:
        pass
print("symlinks lead nowhere")
