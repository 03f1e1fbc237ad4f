// smp_stress.c: a Linux userspace stress program for parallel harts (issue 21), run inside the
// Debian guest by smp_stress_test.sh. One thread per online CPU, each pinned to its CPU so every
// hart takes part; each case starts its threads together and checks what RVWMO (unprivileged
// spec ch. 17 and appendix A) guarantees:
//
//   amo   every thread does __atomic_fetch_add on a shared 64-bit counter (amoadd.d) and on a
//         32-bit one (amoadd.w, starting just below 2^32 so it wraps): the sums must be exact,
//         and every old value amoadd.d returned must be unique (a bitmap of tickets).
//   lrsc  every thread does lr.d/sc.d retry-loop increments of one counter, and on every 4th
//         one an amoadd.d +1 on the same counter (another hart's AMO between an LR and its SC
//         must make the SC fail, or an update is lost): the sum must be exact.
//         In both, each thread does at least *_MIN_ITERS, then goes on for CASE_SECONDS.
//   mp    message passing in a ring: thread t writes channel t (four data words = i, then the
//         flag = i, ordered by `fence w,w` on odd i and by a release store on even i) and then
//         reads channel t+1 (flag, waiting while it is more than MP_WINDOW behind i, then
//         `fence r,r` or an acquire load, then the data): a data word older than the flag, or
//         a flag going backwards, fails.
//   sb    store buffering in pairs (t, t^1), one pair at a time: each iteration both threads meet
//         at a pair barrier, then store x[self] = i, `fence rw,rw`, load x[partner]. Both loads
//         missing the other's store of iteration i (the outcome the fence forbids) fails. A
//         pair runs SB_MIN_ITERS iterations, then more until SB_SECONDS or SB_MAX_ITERS.
//   smc   cross-thread code: thread 0 writes a function (lui a0; addiw a0; ret) returning
//         value(i) into slot i % SMC_SLOTS of an RWX page and publishes i with a release store;
//         every other thread acquires i, calls __riscv_flush_icache (the riscv_flush_icache
//         syscall) on the slot, calls it and must get value(i). A slot is rewritten only after
//         every thread ran its previous contents, so a stale translation is caught. The writer
//         writes SMC_MIN_ITERS functions, then more until SMC_SECONDS or SMC_MAX_ITERS. Per
//         iteration one runner (in turn) flushes with flags 0 (all harts), the others with
//         SYS_RISCV_FLUSH_ICACHE_LOCAL (their own).
//
// Output: "SMP-STRESS: cpus=N", one "SMP-STRESS: <case>=ok (...)" or "...=FAIL: ..." line per
// case, then SMP-STRESS-OK or SMP-STRESS-FAIL: <cases>. Run as PID 1 (rdinit=/smp_stress) it
// mounts sysfs (for sysconf), and powers the machine off at the end; run otherwise it just
// exits 0 or 1. A wait longer than HANG_SECONDS fails its case instead of hanging.
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/cachectl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 64
#define CASE_SECONDS 0.5  // amo and lrsc: past their minimum, each thread goes on this long
#define AMO_MIN_ITERS 100000
#define AMO_MAX_ITERS 2000000
#define LRSC_MIN_ITERS 50000
#define LRSC_MAX_ITERS 4000000
#define MP_ITERS 10000
#define MP_WINDOW 64
#define SB_MIN_ITERS 5000
#define SB_MAX_ITERS 100000
#define SB_SECONDS 1.0  // per pair, once past SB_MIN_ITERS
#define SMC_MIN_ITERS 300
#define SMC_MAX_ITERS 20000
#define SMC_SECONDS 2.0      // once past SMC_MIN_ITERS
#define SMC_SLOTS 64         // 16 bytes each, in one page
#define SMC_FLUSH_LOCAL 1ul  // SYS_RISCV_FLUSH_ICACHE_LOCAL (uapi asm/unistd.h)
#define SPINS_BEFORE_SLEEP 2000
#define HANG_SECONDS 120

typedef struct {
    volatile uint64_t v;
    volatile uint32_t waiters;  // threads asleep in wait_ge on v (futex on v's low half)
    char pad[52];
} __attribute__((aligned(64))) line64;

static unsigned g_n;                 // threads = online CPUs
static volatile int g_abort;         // a thread failed or timed out: every wait gives up
static line64 g_started, g_running;  // start barrier of the current case
static char g_error[256];            // the first failure of the current case
static volatile int g_error_taken;

// ---- helpers ------------------------------------------------------------------------------

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void fail(const char* fmt, ...) {
    if (__atomic_exchange_n(&g_error_taken, 1, __ATOMIC_ACQ_REL) == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(g_error, sizeof g_error, fmt, ap);
        va_end(ap);
    }
    __atomic_store_n(&g_abort, 1, __ATOMIC_RELEASE);
}

// The futex word: the low half of v (little-endian), which changes whenever v does here.
static uint32_t* futex_word(line64* p) {
    return (uint32_t*)(uintptr_t)&p->v;
}

// Wakes the threads asleep on p after its writer changed p->v (in whatever order the case
// needs). The fence orders that store before the load of waiters; wait_ge's AMO on waiters and
// its reload of v pair with it, so a waiter is either seen here or sees the new value.
static void wake(line64* p) {
    __asm__ volatile("fence rw,rw" ::: "memory");
    if (p->waiters) syscall(SYS_futex, futex_word(p), FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

static void store_and_wake(line64* p, uint64_t v) {
    __atomic_store_n(&p->v, v, __ATOMIC_RELEASE);
    wake(p);
}

static void add_and_wake(line64* p, uint64_t v) {
    __atomic_fetch_add(&p->v, v, __ATOMIC_ACQ_REL);
    wake(p);
}

// Waits for p->v >= v (acquire). Spins a while, then sleeps on a futex, so a hart whose partner's
// host thread is not running gives its host core away (more harts than host cores). Returns 0
// when the case was aborted or the wait lasted HANG_SECONDS (which fails the case).
static int wait_ge(line64* p, uint64_t v, const char* what) {
    for (unsigned spins = 0; spins < SPINS_BEFORE_SLEEP; ++spins)
        if (__atomic_load_n(&p->v, __ATOMIC_ACQUIRE) >= v) return 1;
    const double deadline = now() + HANG_SECONDS;
    for (;;) {
        __atomic_fetch_add(&p->waiters, 1, __ATOMIC_SEQ_CST);
        uint64_t cur = __atomic_load_n(&p->v, __ATOMIC_SEQ_CST);
        if (cur < v && !g_abort) {
            struct timespec ts = {0, 100000000};  // wake up now and then to see g_abort
            syscall(SYS_futex, futex_word(p), FUTEX_WAIT_PRIVATE, (uint32_t)cur, &ts, NULL, 0);
            cur = __atomic_load_n(&p->v, __ATOMIC_ACQUIRE);
        }
        __atomic_fetch_sub(&p->waiters, 1, __ATOMIC_RELAXED);
        if (cur >= v) {
            __atomic_thread_fence(__ATOMIC_ACQUIRE);
            return 1;
        }
        if (g_abort) return 0;
        if (now() > deadline) {
            fail("%s: waited %d s for %llu (have %llu)", what, HANG_SECONDS, (unsigned long long)v,
                 (unsigned long long)cur);
            return 0;
        }
    }
}

// Spins (no sleeping) up to `seconds` for p->v >= v.
static int spin_ge(line64* p, uint64_t v, double seconds) {
    const double until = now() + seconds;
    for (unsigned spins = 1;; ++spins) {
        if (__atomic_load_n(&p->v, __ATOMIC_ACQUIRE) >= v) return 1;
        if (spins % 256 == 0 && (g_abort || now() > until)) return 0;
    }
}

// All g_n threads of the case arrive before any starts. The second meeting is spun, not
// slept, so that the threads leave it at once (a wake-up from a futex can take longer than a
// whole case under the JIT) and their work overlaps in time.
static int start_together(void) {
    add_and_wake(&g_started, 1);
    if (!wait_ge(&g_started, g_n, "start barrier")) return 0;
    add_and_wake(&g_running, 1);
    return spin_ge(&g_running, g_n, 0.05) || wait_ge(&g_running, g_n, "start barrier");
}

// The iteration loops of amo and lrsc: at least min iterations, then more until the case's
// deadline or max.
static int keep_going(uint64_t i, uint64_t min, uint64_t max, double deadline) {
    if (g_abort || i >= max) return 0;
    return i < min || i % 1024 != 0 || now() < deadline;
}

// ---- 1. AMO counters ----------------------------------------------------------------------

static line64 g_amo64;
static struct { volatile uint32_t v; } __attribute__((aligned(64))) g_amo32;
static uint64_t* g_tickets;  // bitmap of old values amoadd.d returned
static line64 g_amo_total;   // iterations of all threads
#define AMO32_START 0xFFFF0000u

static void amo_setup(void) {
    g_amo64.v = 0, g_amo_total.v = 0;
    g_amo32.v = AMO32_START;
    size_t words = ((size_t)g_n * AMO_MAX_ITERS + 63) / 64;
    g_tickets = calloc(words, sizeof(uint64_t));
    if (g_tickets == NULL) fail("amo: out of memory");
}

static void amo_thread(unsigned t) {
    (void)t;
    const double deadline = now() + CASE_SECONDS;
    uint64_t i;
    for (i = 0; keep_going(i, AMO_MIN_ITERS, AMO_MAX_ITERS, deadline); ++i) {
        uint64_t old = __atomic_fetch_add(&g_amo64.v, 1, __ATOMIC_RELAXED);
        __atomic_fetch_add(&g_amo32.v, 1, __ATOMIC_RELAXED);
        if (old >= (uint64_t)g_n * AMO_MAX_ITERS) {
            fail("amoadd.d returned %llu, beyond the total", (unsigned long long)old);
            return;
        }
        uint64_t bit = 1ull << (old % 64);
        if (__atomic_fetch_or(&g_tickets[old / 64], bit, __ATOMIC_RELAXED) & bit) {
            fail("amoadd.d returned old value %llu twice", (unsigned long long)old);
            return;
        }
    }
    __atomic_fetch_add(&g_amo_total.v, i, __ATOMIC_RELAXED);
}

static void amo_check(char* detail, size_t size) {
    uint64_t want = g_amo_total.v;
    uint32_t want32 = (uint32_t)(AMO32_START + want);
    if (g_amo64.v != want)
        fail("amoadd.d sum %llu, expected %llu", (unsigned long long)g_amo64.v, (unsigned long long)want);
    else if (g_amo32.v != want32)
        fail("amoadd.w sum %u, expected %u", g_amo32.v, want32);
    snprintf(detail, size, "sum=%llu", (unsigned long long)g_amo64.v);
    free(g_tickets);
}

// ---- 2. LR/SC counter ---------------------------------------------------------------------

static line64 g_lrsc;
static line64 g_sc_failures;
static line64 g_lrsc_want;  // increments of all threads

// *p += 1 by an lr.d/sc.d retry loop; returns how many SCs failed.
static inline uint64_t lrsc_inc(volatile uint64_t* p) {
    uint64_t tmp, failed, retries = 0;
    __asm__ volatile(
        "1: lr.d %0, %3\n"
        "   addi %0, %0, 1\n"
        "   sc.d %1, %0, %3\n"
        "   beqz %1, 2f\n"
        "   addi %2, %2, 1\n"
        "   j 1b\n"
        "2:"
        : "=&r"(tmp), "=&r"(failed), "+r"(retries), "+A"(*p)
        :
        : "memory");
    return retries;
}

static void lrsc_setup(void) {
    g_lrsc.v = 0, g_sc_failures.v = 0, g_lrsc_want.v = 0;
}

static void lrsc_thread(unsigned t) {
    (void)t;
    const double deadline = now() + CASE_SECONDS;
    uint64_t failures = 0, added = 0;
    for (uint64_t i = 0; keep_going(i, LRSC_MIN_ITERS, LRSC_MAX_ITERS, deadline); ++i) {
        failures += lrsc_inc(&g_lrsc.v);
        added++;
        if (i % 4 == 3) {
            __asm__ volatile("amoadd.d zero, %1, %0" : "+A"(g_lrsc.v) : "r"(1ul) : "memory");
            added++;
        }
    }
    __atomic_fetch_add(&g_sc_failures.v, failures, __ATOMIC_RELAXED);
    __atomic_fetch_add(&g_lrsc_want.v, added, __ATOMIC_RELAXED);
}

static void lrsc_check(char* detail, size_t size) {
    uint64_t want = g_lrsc_want.v;
    if (g_lrsc.v != want)
        fail("sum %llu, expected %llu (lost %lld updates)", (unsigned long long)g_lrsc.v, (unsigned long long)want,
             (long long)(want - g_lrsc.v));
    snprintf(detail, size, "sum=%llu, failed sc=%llu", (unsigned long long)g_lrsc.v,
             (unsigned long long)g_sc_failures.v);
}

// ---- 3. message passing -------------------------------------------------------------------

typedef struct {
    volatile uint64_t data[4];
    char pad[32];
    line64 flag;  // on a line of its own
} __attribute__((aligned(64))) channel;
static channel g_chan[MAX_THREADS];

static void mp_setup(void) {
    memset((void*)g_chan, 0, sizeof g_chan);
}

static void mp_thread(unsigned t) {
    channel* out = &g_chan[t];
    channel* in = &g_chan[(t + 1) % g_n];
    uint64_t last = 0;
    for (uint64_t i = 1; i <= MP_ITERS; ++i) {
        for (int k = 0; k < 4; ++k) out->data[k] = i;
        if (i & 1) {
            __asm__ volatile("fence w,w" ::: "memory");
            out->flag.v = i;
            wake(&out->flag);
        } else {
            store_and_wake(&out->flag, i);
        }
        // Up to MP_WINDOW messages behind, so the threads rarely wait for each other and the
        // flag is often read while its writer is in the middle of the next message.
        if (i > MP_WINDOW && !wait_ge(&in->flag, i - MP_WINDOW, "mp: flag")) return;
        uint64_t f;
        if (i & 1) {
            f = in->flag.v;
            __asm__ volatile("fence r,r" ::: "memory");
        } else {
            f = __atomic_load_n(&in->flag.v, __ATOMIC_ACQUIRE);
        }
        if (f < last) {
            fail("thread %u: flag of channel %u went back from %llu to %llu", t, (t + 1) % g_n,
                 (unsigned long long)last, (unsigned long long)f);
            return;
        }
        last = f;
        for (int k = 0; k < 4; ++k) {
            uint64_t d = in->data[k];
            if (d < f) {
                fail("thread %u: saw flag %llu, then stale data[%d] = %llu", t, (unsigned long long)f, k,
                     (unsigned long long)d);
                return;
            }
        }
    }
}

static void mp_check(char* detail, size_t size) {
    snprintf(detail, size, "%u channels x %d messages", g_n, MP_ITERS);
}

// ---- 4. store buffering -------------------------------------------------------------------

static line64 g_sb_x[MAX_THREADS];           // the stored words
static line64 g_sb_arrive[MAX_THREADS];      // pair barrier: iteration each thread reached
static uint64_t* g_sb_seen[MAX_THREADS];     // what each thread loaded in each iteration
static uint64_t g_sb_done[MAX_THREADS / 2];  // iterations each pair ran
static line64 g_sb_turn;                     // the pair whose turn it is
#define SB_STOP (UINT64_MAX / 2)             // the even thread's arrive value when it stops

static void sb_setup(void) {
    g_sb_turn.v = 0;
    for (unsigned t = 0; t < g_n; ++t) {
        g_sb_x[t].v = 0, g_sb_arrive[t].v = 0, g_sb_done[t / 2] = 0;
        g_sb_seen[t] = calloc(SB_MAX_ITERS + 1, sizeof(uint64_t));
        if (g_sb_seen[t] == NULL) fail("sb: out of memory");
    }
}

static void sb_thread(unsigned t) {
    unsigned partner = t ^ 1;
    if (partner >= g_n) return;  // odd thread count: the last one sits out
    // One pair at a time, so that both threads of a pair run at once even when the host has
    // fewer cores than the guest has harts; the others sleep meanwhile.
    if (!wait_ge(&g_sb_turn, t / 2, "sb: turn")) return;
    volatile uint64_t* mine = &g_sb_x[t].v;
    volatile uint64_t* theirs = &g_sb_x[partner].v;
    uint64_t* seen = g_sb_seen[t];
    const double deadline = now() + SB_SECONDS;
    uint64_t i;
    for (i = 1; i <= SB_MAX_ITERS; ++i) {
        // The even thread ends the pair's run early once it is past SB_MIN_ITERS and its time
        // (a loaded host can make every barrier cost a host time slice).
        if (!(t & 1) && i > SB_MIN_ITERS && i % 256 == 0 && now() > deadline) {
            store_and_wake(&g_sb_arrive[t], SB_STOP);
            break;
        }
        store_and_wake(&g_sb_arrive[t], i);
        if (!wait_ge(&g_sb_arrive[partner], i, "sb: pair barrier")) return;
        if (g_sb_arrive[partner].v == SB_STOP) break;
        uint64_t r;
        __asm__ volatile(
            "sd %2, %1\n"
            "fence rw,rw\n"
            "ld %0, %3\n"
            : "=&r"(r), "=m"(*mine)
            : "r"(i), "m"(*theirs)
            : "memory");
        seen[i] = r;
    }
    if (t & 1) {
        g_sb_done[t / 2] = i - 1;
        add_and_wake(&g_sb_turn, 1);
    }
}

static void sb_check(char* detail, size_t size) {
    unsigned pairs = g_n / 2;
    uint64_t weak = 0, first = 0, both_new = 0, total = 0;
    unsigned first_pair = 0;
    for (unsigned p = 0; p < pairs && !g_abort; ++p) {
        const uint64_t* a = g_sb_seen[2 * p];
        const uint64_t* b = g_sb_seen[2 * p + 1];
        total += g_sb_done[p];
        for (uint64_t i = 1; i <= g_sb_done[p]; ++i) {
            // After the barrier each thread's load sees iteration i - 1's store at least;
            // both seeing less than i means both loads passed their own store.
            if (a[i] < i && b[i] < i) {
                if (weak++ == 0) first = i, first_pair = p;
            }
            if (a[i] >= i && b[i] >= i) both_new++;
        }
    }
    if (weak)
        fail("both loads missed the other store in %llu of %llu iterations (first: pair %u, iteration %llu)",
             (unsigned long long)weak, (unsigned long long)total, first_pair, (unsigned long long)first);
    snprintf(detail, size, "%u pair(s), %llu iterations, both-saw-new=%llu", pairs, (unsigned long long)total,
             (unsigned long long)both_new);
    for (unsigned t = 0; t < g_n; ++t) free(g_sb_seen[t]);
}

// ---- 5. cross-thread code -----------------------------------------------------------------

static uint32_t* g_code;                // SMC_SLOTS slots of 4 instructions
static line64 g_smc_published;          // last iteration written
static line64 g_smc_done[MAX_THREADS];  // last iteration each runner ran
static line64 g_smc_flush_errors;
static uint64_t g_smc_end;  // iterations written, set before SMC_STOP is published
#define SMC_STOP (UINT64_MAX / 2)

static int32_t smc_value(uint64_t i) {
    return (int32_t)(uint32_t)(i * 2654435761u + 12345u);
}

// lui a0, hi; addiw a0, a0, lo; ret; nop
static void smc_encode(int32_t v, uint32_t insn[4]) {
    int32_t lo = (int32_t)(((uint32_t)v & 0xfff) ^ 0x800) - 0x800;
    uint32_t hi = ((uint32_t)v - (uint32_t)lo) >> 12;
    insn[0] = (hi << 12) | (10u << 7) | 0x37u;
    insn[1] = (((uint32_t)lo & 0xfff) << 20) | (10u << 15) | (10u << 7) | 0x1bu;
    insn[2] = 0x00008067u;
    insn[3] = 0x00000013u;
}

static void smc_setup(void) {
    g_smc_published.v = 0, g_smc_flush_errors.v = 0, g_smc_end = 0;
    for (unsigned t = 0; t < g_n; ++t) g_smc_done[t].v = 0;
    if (g_code == NULL) {
        void* p = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            fail("mmap of an RWX page: %s", strerror(errno));
            return;
        }
        g_code = p;
    }
    // Every slot starts as iteration 0's function (no runner calls it before it is republished).
    uint32_t insn[4];
    smc_encode(smc_value(0), insn);
    for (unsigned s = 0; s < SMC_SLOTS; ++s) memcpy(&g_code[s * 4], insn, sizeof insn);
    __riscv_flush_icache(g_code, g_code + SMC_SLOTS * 4, 0);
}

static void smc_thread(unsigned t) {
    if (g_n == 1) return;
    if (t == 0) {
        const double deadline = now() + SMC_SECONDS;
        uint64_t i;
        for (i = 1; i <= SMC_MAX_ITERS; ++i) {
            if (i > SMC_MIN_ITERS && i % 16 == 0 && now() > deadline) break;
            // Slot i % SMC_SLOTS last held iteration i - SMC_SLOTS: every runner must be done with it.
            if (i > SMC_SLOTS)
                for (unsigned r = 1; r < g_n; ++r)
                    if (!wait_ge(&g_smc_done[r], i - SMC_SLOTS, "smc: writer waits for runners")) return;
            uint32_t insn[4];
            smc_encode(smc_value(i), insn);
            volatile uint32_t* slot = &g_code[(i % SMC_SLOTS) * 4];
            for (int k = 0; k < 4; ++k) slot[k] = insn[k];
            store_and_wake(&g_smc_published, i);
        }
        g_smc_end = i - 1;
        store_and_wake(&g_smc_published, SMC_STOP);
        return;
    }
    for (uint64_t i = 1;; ++i) {
        if (!wait_ge(&g_smc_published, i, "smc: runner waits for code")) return;
        if (__atomic_load_n(&g_smc_published.v, __ATOMIC_ACQUIRE) == SMC_STOP && i > g_smc_end) break;
        uint32_t* slot = &g_code[(i % SMC_SLOTS) * 4];
        // One runner per iteration (in turn) flushes every hart of the process (flags 0: the
        // kernel's remote fence.i through SBI, which waits for all the other harts); the
        // others flush only their own hart, which is all a hart needs to run code whose
        // stores it has already seen.
        unsigned long flags = (i % (g_n - 1)) + 1 == t ? 0 : SMC_FLUSH_LOCAL;
        if (__riscv_flush_icache(slot, slot + 4, flags) != 0)
            __atomic_fetch_add(&g_smc_flush_errors.v, 1, __ATOMIC_RELAXED);
        int64_t got = ((int64_t(*)(void))(uintptr_t)slot)();
        int64_t want = smc_value(i);
        if (got != want) {
            int64_t old = smc_value(i - SMC_SLOTS);
            fail("thread %u, iteration %llu: the code returned %lld, expected %lld%s", t, (unsigned long long)i,
                 (long long)got, (long long)want,
                 i > SMC_SLOTS && got == old ? " (the slot's previous code: stale)" : "");
            return;
        }
        store_and_wake(&g_smc_done[t], i);
    }
}

static void smc_check(char* detail, size_t size) {
    if (g_smc_flush_errors.v) fail("__riscv_flush_icache failed %llu times", (unsigned long long)g_smc_flush_errors.v);
    snprintf(detail, size, "%llu functions x %u runner(s)", (unsigned long long)g_smc_end, g_n - 1);
}

// ---- driver -------------------------------------------------------------------------------

typedef struct {
    const char* name;
    void (*setup)(void);
    void (*thread)(unsigned t);
    void (*check)(char* detail, size_t size);
} stress_case;

static const stress_case kCases[] = {
    {"amo", amo_setup, amo_thread, amo_check}, {"lrsc", lrsc_setup, lrsc_thread, lrsc_check},
    {"mp", mp_setup, mp_thread, mp_check},     {"sb", sb_setup, sb_thread, sb_check},
    {"smc", smc_setup, smc_thread, smc_check},
};

typedef struct {
    const stress_case* c;
    unsigned t;
} worker;

static void* worker_main(void* arg) {
    worker* w = arg;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(w->t, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0) {
        fail("thread %u: sched_setaffinity(cpu %u): %s", w->t, w->t, strerror(errno));
        return NULL;
    }
    int cpu = sched_getcpu();
    if (cpu != (int)w->t) {
        fail("thread %u runs on cpu %d after pinning it to cpu %u", w->t, cpu, w->t);
        return NULL;
    }
    if (!start_together()) return NULL;
    w->c->thread(w->t);
    return NULL;
}

static int run_case(const stress_case* c) {
    g_abort = 0, g_error_taken = 0, g_error[0] = 0, g_started.v = 0, g_running.v = 0;
    char detail[160] = "";
    double t0 = now();
    c->setup();
    pthread_t th[MAX_THREADS];
    worker w[MAX_THREADS];
    unsigned created = 0;
    if (!g_abort) {
        for (unsigned t = 0; t < g_n; ++t) {
            w[t] = (worker){c, t};
            int e = pthread_create(&th[t], NULL, worker_main, &w[t]);
            if (e != 0) {
                fail("pthread_create: %s", strerror(e));
                break;
            }
            created++;
        }
        for (unsigned t = 0; t < created; ++t) pthread_join(th[t], NULL);
        if (!g_abort) c->check(detail, sizeof detail);
    }
    double secs = now() - t0;
    if (g_error_taken) {
        printf("SMP-STRESS: %s=FAIL: %s (%.2f s)\n", c->name, g_error, secs);
        return 0;
    }
    printf("SMP-STRESS: %s=ok (%s, %.2f s)\n", c->name, detail, secs);
    return 1;
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    const int init = getpid() == 1;
    // As /init nothing is mounted: sysconf(_SC_NPROCESSORS_ONLN) reads /sys.
    if (init && mount("sysfs", "/sys", "sysfs", 0, NULL) != 0)
        printf("SMP-STRESS: mounting /sys failed: %s\n", strerror(errno));
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    cpu_set_t set;
    int allowed = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : -1;
    printf("SMP-STRESS: cpus=%ld (affinity %d)\n", online, allowed);
    char failed[128] = "";
    if (online < 1 || online > MAX_THREADS || online != allowed) {
        snprintf(failed, sizeof failed, "online cpus %ld, allowed %d", online, allowed);
    } else {
        g_n = (unsigned)online;
        double t0 = now();
        for (size_t i = 0; i < sizeof kCases / sizeof kCases[0]; ++i)
            if (!run_case(&kCases[i])) {
                size_t len = strlen(failed);
                snprintf(failed + len, sizeof failed - len, "%s%s", len ? " " : "", kCases[i].name);
            }
        printf("SMP-STRESS: total %.2f s on %u thread(s)\n", now() - t0, g_n);
    }
    if (failed[0])
        printf("SMP-STRESS-FAIL: %s\n", failed);
    else
        printf("SMP-STRESS-OK\n");
    fflush(stdout);
    if (init) {
        sync();
        reboot(RB_POWER_OFF);
        printf("SMP-STRESS: reboot(RB_POWER_OFF): %s\n", strerror(errno));
        for (;;) pause();
    }
    return failed[0] ? 1 : 0;
}
