# expect: time_limit
# limits: wall_time_ms=1000
# Uses no CPU at all: only the wall-time limit can end it.
import time
time.sleep(10**9)
