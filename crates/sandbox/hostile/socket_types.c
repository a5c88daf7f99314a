// expect: ok
// stdout: route ok
// stdout: inet ok
// stdout: unix ok
// Only the socket families and types a program needs: NETLINK_ROUTE (a runtime's own
// interface queries, namespaced) but no other netlink protocol — a
// NETLINK_KOBJECT_UEVENT socket bound to group 1 would receive the host's device
// events; TCP/UDP over INET/INET6 (with SOCK_NONBLOCK/SOCK_CLOEXEC), but no
// SOCK_PACKET, raw or SEQPACKET inet sockets. Denied ones fail with EPERM from the
// seccomp filter, not with the kernel's "not supported".
#define _GNU_SOURCE
#include <errno.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
static void denied(const char *name, int domain, int type, int protocol) {
    int fd = socket(domain, type, protocol);
    if (fd >= 0) {
        printf("ESCAPED: socket %s succeeded\n", name);
        if (domain == AF_NETLINK && protocol == NETLINK_KOBJECT_UEVENT) {
            struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = 1};
            if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
                printf("ESCAPED: bound to the host's uevent group\n");
        }
        close(fd);
    } else if (errno != EPERM) {
        printf("ESCAPED: socket %s failed with %s, not EPERM (type not checked)\n", name,
               strerror(errno));
    }
}
static void allowed(const char *name, int domain, int type, int protocol) {
    int fd = socket(domain, type, protocol);
    if (fd < 0) {
        printf("BROKEN: socket %s: %s\n", name, strerror(errno));
        return;
    }
    close(fd);
    printf("%s ok\n", name);
}
int main(void) {
    denied("uevent", AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT);
    denied("uevent dgram", AF_NETLINK, SOCK_DGRAM, NETLINK_KOBJECT_UEVENT);
    denied("netlink audit", AF_NETLINK, SOCK_RAW, NETLINK_AUDIT);
    denied("netlink generic", AF_NETLINK, SOCK_RAW, NETLINK_GENERIC);
    denied("netlink sock_diag", AF_NETLINK, SOCK_RAW, NETLINK_SOCK_DIAG);
    denied("inet packet", AF_INET, SOCK_PACKET, htons(0x0003));
    denied("inet raw", AF_INET, SOCK_RAW, IPPROTO_ICMP);
    denied("inet seqpacket", AF_INET, SOCK_SEQPACKET, 0);
    denied("inet6 seqpacket", AF_INET6, SOCK_SEQPACKET | SOCK_NONBLOCK, 0);
    denied("unix raw", AF_UNIX, SOCK_RAW, 0);
    allowed("route", AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    allowed("inet", AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    allowed("inet dgram", AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    allowed("unix", AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        printf("BROKEN: socketpair: %s\n", strerror(errno));
    return 0;
}
