# expect: output_limit
# Writes forever; the run ends at the output limit with the first MiB kept.
import sys
line = "y" * 1023 + "\n"
while True:
    sys.stdout.write(line)
