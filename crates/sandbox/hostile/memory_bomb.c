// expect: memory_limit
// malloc never fails under overcommit; touching the pages does. The OOM killer
// (scoped to the run's memory cgroup) ends it.
#include <stdlib.h>
#include <string.h>
int main(void) {
    for (;;) {
        char *p = malloc(4 << 20);
        if (!p) return 3;
        memset(p, 1, 4 << 20);
    }
}
