/* The raw-ioctl baseline for bench/kvm.sh: the smallest VMM that runs a guest loop of `out`
 * instructions and counts the port-I/O exits — no buses, no locks, no threads.
 *
 * The guest is entered directly in 64-bit ring 3 with IOPL 3 (the same mode as the trapeze
 * test guest's loop: on nested KVM ring-0 code is emulated, ring-3 code runs natively), with
 * one identity-mapped 2 MiB user page: `1: out %al, $0x80; jmp 1b`.
 *
 * Prints: "baseline pio exits N seconds S exits_per_second R tsc_hz H".
 * Usage: kvm_pio_baseline [N] (default 100000). Exit status 77 if /dev/kvm is unusable. */
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what) {
    perror(what);
    exit(1);
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t rdtsc(void) {
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

static struct kvm_segment seg(uint16_t sel, uint8_t type, int code) {
    struct kvm_segment s = {0};
    s.limit = 0xffffffff;
    s.selector = sel;
    s.type = type;
    s.present = 1;
    s.dpl = 3;
    s.s = 1;
    s.l = code;
    s.db = !code;
    s.g = 1;
    return s;
}

int main(int argc, char **argv) {
    const long n = argc > 1 ? atol(argv[1]) : 100000;
    int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0) {
        perror("SKIP: /dev/kvm");
        return 77;
    }
    int vm = ioctl(kvm, KVM_CREATE_VM, 0);
    if (vm < 0) die("KVM_CREATE_VM");
    const size_t mem_size = 4 << 20;
    uint8_t *mem = mmap(NULL, mem_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) die("mmap");
    struct kvm_userspace_memory_region region = {0, 0, 0, mem_size, (uint64_t)(uintptr_t)mem};
    if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0) die("KVM_SET_USER_MEMORY_REGION");

    /* Page tables at 0x1000 (PML4), 0x2000 (PDPT), 0x3000 (PD: one 2 MiB user page at 0). */
    uint64_t *pml4 = (uint64_t *)(mem + 0x1000), *pdpt = (uint64_t *)(mem + 0x2000), *pd = (uint64_t *)(mem + 0x3000);
    pml4[0] = 0x2000 | 7;
    pdpt[0] = 0x3000 | 7;
    pd[0] = 0x87;
    static const uint8_t code[] = {0xe6, 0x80, 0xeb, 0xfc}; /* out %al,$0x80; jmp .-2 */
    memcpy(mem + 0x10000, code, sizeof code);

    int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
    if (vcpu < 0) die("KVM_CREATE_VCPU");
    const int run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    struct kvm_run *run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
    if (run == MAP_FAILED) die("mmap kvm_run");

    struct kvm_sregs sregs;
    if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0) die("KVM_GET_SREGS");
    sregs.cr3 = 0x1000;
    sregs.cr4 = 1u << 5;                     /* PAE */
    sregs.cr0 = 0x80000011;                  /* PG | ET | PE */
    sregs.efer = (1u << 8) | (1u << 10);     /* LME | LMA */
    sregs.cs = seg(0x23, 0xb, 1);
    sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = seg(0x1b, 0x3, 0);
    if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0) die("KVM_SET_SREGS");
    struct kvm_regs regs = {0};
    regs.rip = 0x10000;
    regs.rsp = 0x20000;
    regs.rflags = 0x3002; /* IOPL 3 */
    if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0) die("KVM_SET_REGS");

    const double t0 = now();
    const uint64_t c0 = rdtsc();
    for (long i = 0; i < n; ++i) {
        if (ioctl(vcpu, KVM_RUN, 0) < 0) die("KVM_RUN");
        if (run->exit_reason != KVM_EXIT_IO || run->io.port != 0x80) {
            fprintf(stderr, "unexpected exit %u\n", run->exit_reason);
            return 1;
        }
    }
    const double secs = now() - t0;
    const double tsc_hz = (double)(rdtsc() - c0) / secs;
    printf("baseline pio exits %ld seconds %.6f exits_per_second %.0f tsc_hz %.0f\n", n, secs, (double)n / secs, tsc_hz);
    return 0;
}
