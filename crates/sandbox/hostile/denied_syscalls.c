// expect: ok
// stdout: all denied
// ptrace, mount, unshare/new namespaces, setns, bpf, perf, keyctl, userfaultfd,
// io_uring, module loading, kexec, reboot, raising rlimits: each must fail.
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
static char stack[65536];
static int child(void *arg) { (void)arg; return 0; }
#define CHECK(name, expr) do { long r = (expr); if (r >= 0) { printf("ESCAPED: %s returned %ld\n", name, r); } } while (0)
int main(void) {
    CHECK("ptrace(TRACEME)", ptrace(PTRACE_TRACEME, 0, 0, 0));
    CHECK("ptrace(ATTACH 1)", ptrace(PTRACE_ATTACH, 1, 0, 0));
    pid_t kid = fork();
    if (kid == 0) { pause(); _exit(0); }
    CHECK("ptrace(SEIZE child)", ptrace(PTRACE_SEIZE, kid, 0, 0));
    kill(kid, SIGKILL); waitpid(kid, NULL, 0);
    CHECK("mount tmpfs", mount("none", "/tmp", "tmpfs", 0, NULL));
    CHECK("mount bind", mount("/work", "/usr", NULL, MS_BIND, NULL));
    CHECK("umount /proc", umount2("/proc", MNT_DETACH));
    CHECK("unshare(NEWUSER)", unshare(CLONE_NEWUSER));
    CHECK("unshare(NEWNS)", unshare(CLONE_NEWNS));
    CHECK("unshare(NEWNET)", unshare(CLONE_NEWNET));
    CHECK("clone(NEWUSER)", clone(child, stack + sizeof stack, CLONE_NEWUSER | SIGCHLD, NULL));
    CHECK("clone(NEWPID)", clone(child, stack + sizeof stack, CLONE_NEWPID | SIGCHLD, NULL));
    CHECK("setns", syscall(SYS_setns, 0, 0));
    CHECK("chroot", chroot("/tmp"));
    CHECK("bpf", syscall(SYS_bpf, 0, 0, 0));
    CHECK("perf_event_open", syscall(SYS_perf_event_open, 0, 0, -1, -1, 0));
    CHECK("keyctl", syscall(SYS_keyctl, 0, 0, 0, 0, 0));
    CHECK("add_key", syscall(SYS_add_key, "user", "k", "v", 1, -2));
    CHECK("userfaultfd", syscall(SYS_userfaultfd, 0));
    CHECK("io_uring_setup", syscall(SYS_io_uring_setup, 8, (void *)0));
    CHECK("init_module", syscall(SYS_init_module, 0, 0, ""));
    CHECK("finit_module", syscall(SYS_finit_module, 0, "", 0));
    CHECK("kexec_load", syscall(SYS_kexec_load, 0, 0, 0, 0));
    CHECK("reboot", syscall(SYS_reboot, 0xfee1dead, 672274793, 0x4321fedc, 0));
    CHECK("sethostname", sethostname("pwned", 5));
    CHECK("x32 getpid", syscall(0x40000000 | 39));
    // Raising a hard limit needs CAP_SYS_RESOURCE.
    struct rlimit big = {RLIM_INFINITY, RLIM_INFINITY};
    CHECK("raise RLIMIT_CPU", setrlimit(RLIMIT_CPU, &big));
    CHECK("raise RLIMIT_FSIZE", setrlimit(RLIMIT_FSIZE, &big));
    CHECK("raise RLIMIT_NPROC", setrlimit(RLIMIT_NPROC, &big));
    char host[64] = {0};
    gethostname(host, sizeof host - 1);
    printf("all denied on %s\n", host);
    return 0;
}
