# expect: ok
# stdout: parent done
# Leaves a daemon behind (double fork, new session, stdio closed) that would run for
# hours. It must be gone when the run ends; the run must not wait for it.
import os, sys, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.close(0); os.close(1); os.close(2)
        while True:
            time.sleep(1)
    os._exit(0)
print("parent done")
