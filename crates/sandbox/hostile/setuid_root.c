// expect: ok
// stdout: still unprivileged
// Tries to become root: setuid/setgid, a set-uid binary, capabilities.
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
int main(void) {
    if (setuid(0) == 0) printf("ESCAPED: setuid(0)\n");
    if (setgid(0) == 0) printf("ESCAPED: setgid(0)\n");
    if (setresuid(0, 0, 0) == 0) printf("ESCAPED: setresuid\n");
    // A set-uid-root binary from /usr: nosuid mounts and no_new_privs keep it harmless.
    FILE *p = popen("/usr/bin/su -c id root 2>&1; /usr/bin/passwd -S root 2>&1", "r");
    char line[256];
    while (p && fgets(line, sizeof line, p)) {
        if (strstr(line, "uid=0")) printf("ESCAPED: su gave %s", line);
    }
    if (p) pclose(p);
    FILE *s = fopen("/proc/self/status", "r");
    while (s && fgets(line, sizeof line, s)) {
        if (!strncmp(line, "CapEff:", 7) && !strstr(line, "0000000000000000")) printf("ESCAPED: %s", line);
        if (!strncmp(line, "CapPrm:", 7) && !strstr(line, "0000000000000000")) printf("ESCAPED: %s", line);
        if (!strncmp(line, "CapBnd:", 7) && !strstr(line, "0000000000000000")) printf("ESCAPED: %s", line);
        if (!strncmp(line, "NoNewPrivs:", 11) && !strstr(line, "1")) printf("ESCAPED: %s", line);
        if (!strncmp(line, "Seccomp:", 8) && !strstr(line, "2")) printf("ESCAPED: %s", line);
    }
    printf("still unprivileged (uid %d)\n", getuid());
    return 0;
}
