# expect: ok
# stdout: own session
# The program must not share the session or process group of the CLI or server that
# started it: inside its PID namespace, a session or group led from outside reads as 0.
import os
sid, pgrp = os.getsid(0), os.getpgrp()
if sid != 1 or pgrp != 1:
    print("ESCAPED: session", sid, "process group", pgrp, "led from outside the sandbox")
else:
    print("own session")
