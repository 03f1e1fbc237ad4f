/* Waiting for an idle guest before a measurement (bench/cpu/smp_launcher.c, osbench.c): the
 * guest's first process includes this; /proc must be mounted. */
#pragma once
#include <stdio.h>
#include <time.h>

/* Busy and total clock ticks of all CPUs so far (/proc/stat's first line), or -1. */
static int cpu_ticks(unsigned long long* busy, unsigned long long* total) {
    FILE* f = fopen("/proc/stat", "r");
    if (!f) return -1;
    unsigned long long v[8] = {0};
    const int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                         &v[4], &v[5], &v[6], &v[7]);
    fclose(f);
    if (n < 4) return -1;
    *total = 0;
    for (int i = 0; i < 8; ++i) *total += v[i];
    *busy = *total - v[3] - v[4]; /* all but idle and iowait */
    return 0;
}

/* Waits until the kernel's own start-up work is done (Debian's kernel runs crypto self-tests
 * and entropy gathering in kernel threads for a while after it starts init): until a 200 ms
 * window in which the CPUs were busy less than 2% of the time (this process sleeps through
 * it), or 60 s. Otherwise that work is timed with the first measurements (bench/smp.sh's
 * 1-hart batches felt it more than N-hart ones, and scaling came out above N). Returns the
 * seconds waited, or -1 when it gave up. */
static double settle(void) {
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    const struct timespec window = {0, 200 * 1000 * 1000};
    unsigned long long b0, n0, b1, n1;
    if (cpu_ticks(&b0, &n0) != 0) return -1;
    for (;;) {
        nanosleep(&window, NULL);
        if (cpu_ticks(&b1, &n1) != 0) return -1;
        clock_gettime(CLOCK_MONOTONIC, &t);
        const double secs = (double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9;
        if (n1 > n0 && (b1 - b0) * 50 < n1 - n0) return secs;
        if (secs > 60) return -1;
        b0 = b1;
        n0 = n1;
    }
}
