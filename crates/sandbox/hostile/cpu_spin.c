// expect: time_limit
// limits: cpu_time_ms=500 wall_time_ms=5000
// Burns CPU forever: the CPU time limit (not the wall limit) must end it.
int main(void) {
    volatile unsigned long x = 0;
    for (;;) x++;
}
