// expect: ok
// stdout: still alive
// Signals pid 1 (the sandbox's init), the parent, and every process it may signal.
// None of it may reach the host; the run goes on normally.
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
int main(void) {
    kill(1, SIGKILL);
    kill(getppid(), SIGKILL);
    kill(-1, SIGKILL);
    kill(-1, SIGTERM);
    usleep(100000);
    printf("still alive, parent %d\n", getppid());
    return 0;
}
