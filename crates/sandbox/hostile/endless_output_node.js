// expect: output_limit
// limits: output_bytes=524288
// Node queues every write in memory once the pipe is full and this loop never yields,
// so with a 64 KiB pipe memory ran out before the output limit was reached
// (memory_limit). The output pipes now hold more than the output limit (here: 1 MiB
// for 512 KiB, within fs.pipe-max-size even without CAP_SYS_RESOURCE), so the program
// passes the limit without ever blocking: output_limit, every time.
while (true) process.stdout.write('x'.repeat(1000));
