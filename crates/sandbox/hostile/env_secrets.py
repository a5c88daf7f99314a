# expect: ok
# stdout: environment clean
# The environment holds only what the sandbox sets, never the server's.
import os
allowed = {"PATH", "HOME", "TMPDIR", "LANG", "USER", "PYTHONUNBUFFERED",
           "PYTHONDONTWRITEBYTECODE", "LC_CTYPE"}
extra = sorted(set(os.environ) - allowed)
if extra:
    print("ESCAPED: server environment visible:", extra)
print("environment clean")
