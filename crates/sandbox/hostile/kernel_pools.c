// expect: ok
// stdout: pools denied
// Host-wide kernel pools a run must not drain: kernel AIO contexts (fs.aio-max-nr),
// inotify instances and watches (per uid, shared by every run of a uid slot), POSIX
// message queues, fanotify groups and marks, keyrings. Each call must fail.
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>
#define CHECK(name, expr) do { long r = (expr); if (r >= 0) { printf("ESCAPED: %s returned %ld\n", name, r); } } while (0)
int main(void) {
    aio_context_t ctx = 0;
    CHECK("io_setup(65536)", syscall(SYS_io_setup, 65536, &ctx));
    CHECK("io_setup(1)", syscall(SYS_io_setup, 1, &ctx));
    CHECK("io_submit", syscall(SYS_io_submit, ctx, 0, NULL));
    CHECK("io_getevents", syscall(SYS_io_getevents, ctx, 0, 0, NULL, NULL));
    CHECK("inotify_init1", syscall(SYS_inotify_init1, 0));
#ifdef SYS_inotify_init
    CHECK("inotify_init", syscall(SYS_inotify_init));
#endif
    CHECK("inotify_add_watch", syscall(SYS_inotify_add_watch, 0, "/tmp", 0x100));
    CHECK("mq_open", syscall(SYS_mq_open, "peercode", O_CREAT | O_RDWR, 0600, NULL));
    CHECK("fanotify_init", syscall(SYS_fanotify_init, 0, 0));
    CHECK("fanotify_mark", syscall(SYS_fanotify_mark, 0, 1, 0x1, AT_FDCWD, "/tmp"));
    CHECK("add_key", syscall(SYS_add_key, "user", "k", "v", 1, -3));
    CHECK("request_key", syscall(SYS_request_key, "user", "k", NULL, -3));
    puts("pools denied");
    return 0;
}
