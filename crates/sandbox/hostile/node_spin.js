// expect: time_limit
// limits: cpu_time_ms=800 wall_time_ms=6000
// A JavaScript busy loop, with worker threads spinning too.
const { Worker } = require("worker_threads");
for (let i = 0; i < 3; i++) new Worker("for(;;){}", { eval: true });
for (;;) {}
