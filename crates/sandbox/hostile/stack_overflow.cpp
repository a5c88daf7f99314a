// expect: runtime_error
// Unbounded recursion: the stack limit turns it into SIGSEGV, a plain runtime error,
// long before the memory limit or the host notice.
#include <cstdio>
volatile int sink;
int deep(int n) {
    char pad[256];
    pad[n % 256] = static_cast<char>(n);
    sink = pad[(n * 7) % 256];
    return deep(n + 1) + pad[0];
}
int main() {
    std::printf("%d\n", deep(0));
}
