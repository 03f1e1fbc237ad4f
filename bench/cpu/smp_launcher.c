/* smp_launcher: the guest's first process for bench/smp.sh (the kernel starts it through
 * rdinit=/bench/smp_launcher, in place of the test initrd's /init). It reads the number of copies
 * and repeats from the kernel command line (trapeze.smpbench=N trapeze.smpreps=R, R defaults to
 * 1), waits until the kernel's own start-up work is done (settle: prints "SMPBENCH-SETTLE: ..."),
 * forks N workers that each wait on one pipe, then releases them together: each worker runs
 * /bench/cpubench R times in sequence, every run printing its own CPUBENCH line. The launcher
 * times the whole batch with CLOCK_MONOTONIC, from the release to the last worker's exit, prints
 * "SMPBENCH: <secs> s copies <N> reps <R> harts <online harts> failed <workers>" and powers the
 * machine off. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { kMaxCopies = 256 };

static void power_off(void) {
    fflush(stdout);
    sync();
    reboot(RB_POWER_OFF);
    for (;;) pause(); /* PID 1 must not exit */
}

static int cmdline_int(const char* key, int fallback) { /* key includes the '=' */
    FILE* f = fopen("/proc/cmdline", "r");
    if (!f) return fallback;
    char line[4096];
    const char* got = fgets(line, sizeof line, f);
    fclose(f);
    if (!got) return fallback;
    const char* p = strstr(line, key);
    return p ? atoi(p + strlen(key)) : fallback;
}

#include "settle.h"


/* How many times the guest's scheduler moved task `pid` to another hart (se.nr_migrations in
 * /proc/PID/sched, a CONFIG_SCHED_DEBUG kernel's, as Debian's is), or -1 if it does not say.
 * A moved copy starts on a hart whose caches (the emulator's soft TLB and jump cache for it,
 * the host core's for both) hold another task's work. */
static long long migrations(pid_t pid) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/sched", (int)pid);
    FILE* f = fopen(path, "r");
    if (!f) return -1;
    long long n = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "se.nr_migrations", 16) == 0) {
            const char* colon = strchr(line, ':');
            if (colon) n = atoll(colon + 1);
            break;
        }
    fclose(f);
    return n;
}

/* Once the run `pid` has exited, before it is reaped: what the guest's scheduler did with it
 * (/proc/PID/schedstat: nanoseconds on a CPU, nanoseconds runnable but waiting for one, and
 * the number of times it was given a CPU; and its moves between harts). A copy that waited
 * shared its hart with another task (the guest's placement); a copy that ran slowly without
 * waiting had a slow hart (the host's or the emulator's doing, invisible to the guest). */
static void report_sched(pid_t pid) {
    siginfo_t info;
    while (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT) < 0)
        if (errno != EINTR) return;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/schedstat", (int)pid);
    FILE* f = fopen(path, "r");
    if (!f) return;
    unsigned long long ran, waited, slices;
    if (fscanf(f, "%llu %llu %llu", &ran, &waited, &slices) == 3) {
        printf("CPUBENCH-SCHED: ran %.3f s waited %.3f s slices %llu", ran / 1e9, waited / 1e9, slices);
        const long long moved = migrations(pid);
        if (moved >= 0) printf(" migrations %lld", moved);
        printf("\n");
    }
    fclose(f);
}

static int run_cpubench(int reps) { /* a worker: 0 when every run exited 0 */
    int failed = 0;
    for (int r = 0; r < reps; ++r) {
        const pid_t pid = fork();
        if (pid < 0) return 1;
        if (pid == 0) {
            execl("/bench/cpubench", "cpubench", (char*)NULL);
            _exit(127);
        }
        report_sched(pid);
        int status;
        while (waitpid(pid, &status, 0) < 0)
            if (errno != EINTR) return 1;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) failed = 1;
    }
    return failed;
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    mkdir("/proc", 0555);
    mkdir("/sys", 0555);
    mount("proc", "/proc", "proc", 0, NULL);
    mount("sysfs", "/sys", "sysfs", 0, NULL);
    const int copies = cmdline_int("trapeze.smpbench=", -1);
    const int reps = cmdline_int("trapeze.smpreps=", 1);
    const long harts = sysconf(_SC_NPROCESSORS_ONLN);
    if (copies < 1 || copies > kMaxCopies || reps < 1) {
        printf("SMPBENCH-ERROR: trapeze.smpbench=N (1..%d) is missing from the command line, "
               "or trapeze.smpreps is below 1\n", kMaxCopies);
        power_off();
    }
    const double settled = settle();
    if (settled < 0)
        printf("SMPBENCH-SETTLE: the CPUs did not go idle within 60 s; starting anyway\n");
    else
        printf("SMPBENCH-SETTLE: idle after %.1f s\n", settled);
    int gate[2];
    if (pipe(gate) != 0) {
        printf("SMPBENCH-ERROR: pipe: %s\n", strerror(errno));
        power_off();
    }
    for (int i = 0; i < copies; ++i) {
        const pid_t pid = fork();
        if (pid < 0) {
            printf("SMPBENCH-ERROR: fork: %s\n", strerror(errno));
            power_off();
        }
        if (pid == 0) {
            close(gate[1]);
            char c;
            while (read(gate[0], &c, 1) < 0 && errno == EINTR) {
            } /* returns 0 (end of file) when the launcher closes its end */
            close(gate[0]);
            _exit(run_cpubench(reps));
        }
    }
    close(gate[0]);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    close(gate[1]); /* every child's read returns now */
    int failed = 0;
    for (int left = copies; left > 0;) {
        int status;
        const pid_t pid = wait(&status);
        if (pid < 0) {
            if (errno == EINTR) continue;
            break;
        }
        --left;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) ++failed;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    const double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("SMPBENCH: %.3f s copies %d reps %d harts %ld failed %d\n", secs, copies, reps, harts,
           failed);
    power_off();
}
