// The operating system's own paths, timed inside the guest (bench/os.sh): what a kernel does for
// programs rather than what programs compute. Each operation runs once to warm up (its code
// translated, its pages present), then a fixed number of times under the guest's monotonic clock,
// and prints
//     OSBENCH: NAME NS_PER_OP
// then OSBENCH-DONE, and powers the machine off (it runs as the initramfs's first process,
// rdinit=/osbench), after the kernel's own start-up work is done (settle). Operations:
//   rdtime        the time CSR read in user mode (what the vDSO's clock_gettime reads)
//   clock_gettime CLOCK_MONOTONIC through the vDSO
//   getppid       the cheapest system call: a trap into the kernel and back
//   sched_yield   a system call through the scheduler
//   pipe          a byte to a child process and back through two pipes (two context switches)
//   signal        a signal sent to itself and handled
//   pagefault     first touch of an anonymous page (4 KiB pages of a 4 MiB mapping, unmapped after)
//   mprotect      a page made read-only and writable again (a TLB flush each)
//   fork          fork, _exit in the child, waitpid in the parent
//   rtc           the RTC's time read through /dev/rtc0 (RTC_RD_TIME: a system call and the
//                 driver's loads from the device's registers)
//   console       a 64-byte line written to the serial console (the UART driver's stores to
//                 its transmit register, a byte each, and its interrupts)
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <linux/rtc.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "settle.h"

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static volatile uint64_t sink;

static void op_rdtime(long n) {
    for (long i = 0; i < n; i++) {
        uint64_t t;
        __asm__ volatile("rdtime %0" : "=r"(t));
        sink += t;
    }
}

static void op_clock_gettime(long n) {
    for (long i = 0; i < n; i++) sink += now_ns();
}

static void op_getppid(long n) {
    for (long i = 0; i < n; i++) sink += (uint64_t)syscall(SYS_getppid);
}

static void op_sched_yield(long n) {
    for (long i = 0; i < n; i++) sched_yield();
}

static void die(const char* what) {
    perror(what);
    fflush(stdout);
    reboot(RB_POWER_OFF);
    _exit(1);
}

static void op_pipe(long n) {
    int to_child[2], to_parent[2];
    if (pipe(to_child) != 0 || pipe(to_parent) != 0) die("osbench: pipe");
    const pid_t pid = fork();
    if (pid < 0) die("osbench: fork");
    char c = 0;
    if (pid == 0) {
        for (long i = 0; i < n; i++) {
            if (read(to_child[0], &c, 1) != 1 || write(to_parent[1], &c, 1) != 1) _exit(1);
        }
        _exit(0);
    }
    for (long i = 0; i < n; i++) {
        if (write(to_child[1], &c, 1) != 1 || read(to_parent[0], &c, 1) != 1) die("osbench: pipe round trip");
    }
    waitpid(pid, NULL, 0);
    close(to_child[0]), close(to_child[1]), close(to_parent[0]), close(to_parent[1]);
}

static void on_signal(int sig) { sink += (uint64_t)sig; }

static void op_signal(long n) {
    signal(SIGUSR1, on_signal);
    for (long i = 0; i < n; i++) kill(getpid(), SIGUSR1);
}

enum { kPage = 4096, kMapping = 4 << 20 };

static void op_pagefault(long n) {  // n pages, a mapping at a time
    for (long done = 0; done < n; done += kMapping / kPage) {
        char* p = mmap(NULL, kMapping, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) die("osbench: mmap");
        for (long off = 0; off < kMapping; off += kPage) p[off] = 1;
        munmap(p, kMapping);
    }
}

static void op_mprotect(long n) {
    char* p = mmap(NULL, kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) die("osbench: mmap");
    p[0] = 1;
    for (long i = 0; i < n; i++) {
        mprotect(p, kPage, PROT_READ);
        mprotect(p, kPage, PROT_READ | PROT_WRITE);
    }
    munmap(p, kPage);
}

static void op_fork(long n) {
    for (long i = 0; i < n; i++) {
        const pid_t pid = fork();
        if (pid < 0) die("osbench: fork");
        if (pid == 0) _exit(0);
        waitpid(pid, NULL, 0);
    }
}

static int rtc_fd = -1;

static void op_rtc(long n) {
    struct rtc_time t;
    for (long i = 0; i < n; i++) {
        if (ioctl(rtc_fd, RTC_RD_TIME, &t) != 0) die("osbench: RTC_RD_TIME");
        sink += (uint64_t)t.tm_sec;
    }
}

static void op_console(long n) {
    static const char line[] = "osbench console line: the UART transmit path, a byte at a time.\n";
    _Static_assert(sizeof line - 1 == 64, "a 64-byte line");
    for (long i = 0; i < n; i++) {
        if (write(STDOUT_FILENO, line, sizeof line - 1) != (ssize_t)(sizeof line - 1)) die("osbench: console write");
    }
}

struct Op {
    const char* name;
    void (*run)(long);
    long n;  // about 0.1-0.5 s under trapeze, a few times that under QEMU
};

int main(void) {
    mount("proc", "/proc", "proc", 0, NULL);
    mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);  // /dev/rtc0
    rtc_fd = open("/dev/rtc0", O_RDONLY);
    if (rtc_fd < 0) die("osbench: /dev/rtc0");
    // Debian's kernel runs crypto self-tests and gathers entropy in kernel threads for a while
    // after it starts init, which would be timed with the first operations.
    if (settle() < 0) printf("OSBENCH-WARNING: the guest never went idle\n");
    static const struct Op ops[] = {
        {"rdtime", op_rdtime, 2000000},   {"clock_gettime", op_clock_gettime, 1000000},
        {"getppid", op_getppid, 500000},  {"sched_yield", op_sched_yield, 200000},
        {"pipe", op_pipe, 20000},         {"signal", op_signal, 50000},
        {"pagefault", op_pagefault, 20480}, {"mprotect", op_mprotect, 20000},
        {"fork", op_fork, 1000},          {"rtc", op_rtc, 50000},
        {"console", op_console, 2000},
    };
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        ops[i].run(ops[i].n / 10 + 1);  // warm-up
        const uint64_t start = now_ns();
        ops[i].run(ops[i].n);
        const uint64_t ns = now_ns() - start;
        printf("OSBENCH: %s %.1f\n", ops[i].name, (double)ns / (double)ops[i].n);
        fflush(stdout);
    }
    printf("OSBENCH-DONE\n");
    fflush(stdout);
    reboot(RB_POWER_OFF);
    return 0;
}
