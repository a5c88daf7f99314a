// expect: ok
// stdout: threads capped
// Threads until pthread_create fails: the process/thread limit (64) must stop it.
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
static void *sleeper(void *arg) { (void)arg; pause(); return NULL; }
int main(void) {
    int n = 0;
    pthread_t t;
    while (n < 10000 && pthread_create(&t, NULL, sleeper, NULL) == 0) n++;
    if (n >= 64) printf("ESCAPED: %d threads\n", n);
    else printf("threads capped at %d\n", n);
    return 0;
}
