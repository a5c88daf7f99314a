// expect: output_limit
// Writes a 1 GiB file in the work dir: the file-size limit (16 MiB) stops it with
// SIGXFSZ before the tmpfs fills the host's memory.
#include <stdio.h>
#include <string.h>
int main(void) {
    static char buf[1 << 20];
    memset(buf, 'x', sizeof buf);
    FILE *f = fopen("big.bin", "w");
    if (!f) return 2;
    for (int i = 0; i < 1024; i++) fwrite(buf, 1, sizeof buf, f);
    fclose(f);
    printf("ESCAPED: wrote 1 GiB\n");
    return 0;
}
