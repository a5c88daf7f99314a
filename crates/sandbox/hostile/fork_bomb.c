// expect: time_limit
// limits: cpu_time_ms=1000 wall_time_ms=3000
// The classic: processes multiply until something stops them. The pids cgroup caps
// them at 64; the time limit ends the run; every process dies with it.
#include <unistd.h>
int main(void) {
    for (;;) fork();
}
