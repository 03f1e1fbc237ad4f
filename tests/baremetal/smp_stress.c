// smp_stress.c — a bare-metal M-mode guest that checks what parallel harts must guarantee each
// other (issue 21; RVWMO, unprivileged spec ch. 17 and appendix A). Every hart takes part in
// every case; between cases the harts meet at a barrier built on AMOs, and hart 0 reports.
//
//   1 amo   each hart does AMO_ITERS rounds of: amoadd.w on each half of one doubleword (the
//           low half starts near 2^32 and wraps: no carry may reach the high half), amoadd.d
//           of hartid+1 on a shared counter, and an amoadd.d "ticket" whose old value must be
//           unique (amoor.d sets its bit in a bitmap: the bit must have been clear). The
//           .w results must come back sign-extended. All .aq/.rl variants take turns.
//   2 lrsc  each hart does LRSC_ITERS rounds of: lr.d/sc.d +1 and amoadd.d +1 on one counter
//           (an AMO by another hart between an LR and its SC must make the SC fail, or an
//           update is lost), lr.w/sc.w +1 on the low half of a doubleword (crossing 2^31: lr.w
//           sign-extends) and amoadd.w +1 on its high half; every 16th round, a second SC
//           after a successful one must fail. Sums must be exact.
//   3 mp    message passing in a ring: hart h writes channel h (four data words = i, then
//           `fence w,w` / release fence / amoswap.w.rl of the flag = i, for i = 1..MP_ITERS)
//           and after each write reads channel h+1 (flag, then `fence r,r` / acquire fence /
//           lr.w.aq, then the data): data older than the flag, or a flag going backwards, fails.
//   4 sb    store buffering in pairs (h, h^1): hart h stores x[h] = i, orders it (`fence
//           rw,rw` / `fence w,r` / amoswap.d.aqrl), loads x[partner] and logs the value, for
//           i = 1..SB_ITERS. The logs must show no i, j with A[i] < j and B[j] < i (each
//           missing the other's store: the outcome the fences forbid); reads must not go back.
//   5 smc   cross-hart code publishing: hart 0 writes a small function (lui/addiw/xori/addi,
//           ret: it returns a constant of iteration i) into slot i % SMC_SLOTS of a code page,
//           runs it itself after fence.i, then publishes i (fence w,w + store, or a release
//           store); every other hart waits for i, does fence.i, calls the slot and must get
//           iteration i's value, then acknowledges. A slot is rewritten only after every hart
//           ran its previous contents, so a stale translation or decoded block is caught.
//   6 aba   in pairs (h, h^1): hart h does lr.w.aq on its pair's word (value A), then signals
//           its partner and waits for it (memory accesses between LR and SC); the partner
//           stores B and then A back (sw, or amoswap.w), and answers; then hart h's sc.w.rl
//           must fail (a store by another hart came between, unpriv spec §8.2, although memory
//           holds A again: a value compare cannot see it) and leave A; a constrained lr/sc
//           loop then moves A on. ABA_ITERS rounds.
//
// No hart runs more than WINDOW iterations ahead of its neighbours in the ring (its partner in
// SB; SMC_SLOTS ahead of the slowest runner in SMC), so the harts overlap in time however the
// host schedules them; the window is wide enough that a round-robin or oversubscribed host
// (8 harts on 2 cores) needs only a few hand-offs per case.
//
// Exit (HTIF tohost, then the SiFive test finisher for machines without HTIF, e.g. QEMU):
// 0 passes; 10 * case + detail fails a check (details below, and in run_smp.py); 90 + case:
// a wait lasted HANG_SECONDS (case 0: the start barrier, some hart never arrived); 99: no
// harts in the device tree; 128 + mcause: a trap (160 + cause for an interrupt). Hart 0 prints
// one line per case on the UART.
#include <stdint.h>

#define MAX_HARTS 8  // start_smp.S parks harts with higher IDs
#define AMO_ITERS 20000
#define LRSC_ITERS 20000
#define MP_ITERS 10000
#define SB_ITERS 10000
#define SMC_ITERS 2000
#define SMC_SLOTS 128  // 16 bytes each, in a page of their own
#define ABA_ITERS 500
#define WINDOW 1024
#define HANG_SECONDS 30

#define UART_BASE 0x10000000ul    // ns16550, QEMU virt's and trapeze's
#define CLINT_MTIME 0x0200bff8ul  // CLINT mtime
#define TEST_BASE 0x100000ul      // SiFive test finisher
#define TIMEBASE_HZ 10000000ul

extern volatile uint64_t tohost;

typedef struct {
    unsigned hart, n;
} ctx;

// Shared words on cache lines of their own.
typedef struct {
    volatile uint64_t v;
    uint8_t pad[56];
} __attribute__((aligned(64))) line64;
typedef struct {
    volatile uint32_t v;
    uint8_t pad[60];
} __attribute__((aligned(64))) line32;
typedef struct {
    volatile uint32_t lo, hi;
} __attribute__((aligned(64))) halves;

// ---- primitives --------------------------------------------------------------------------

#define FENCE(spec) __asm__ volatile("fence " spec ::: "memory")

// AMOs on words return the raw register: the caller checks it is sign-extended.
#define DEF_AMO_W(name, insn)                                                         \
    static inline int64_t name(volatile uint32_t* p, int64_t v) {                     \
        int64_t r;                                                                    \
        __asm__ volatile(insn " %0, %2, %1" : "=r"(r), "+A"(*p) : "r"(v) : "memory"); \
        return r;                                                                     \
    }
#define DEF_AMO_D(name, insn)                                                         \
    static inline uint64_t name(volatile uint64_t* p, uint64_t v) {                   \
        uint64_t r;                                                                   \
        __asm__ volatile(insn " %0, %2, %1" : "=r"(r), "+A"(*p) : "r"(v) : "memory"); \
        return r;                                                                     \
    }
DEF_AMO_W(amoadd_w, "amoadd.w")
DEF_AMO_W(amoadd_w_aq, "amoadd.w.aq")
DEF_AMO_W(amoadd_w_rl, "amoadd.w.rl")
DEF_AMO_W(amoadd_w_aqrl, "amoadd.w.aqrl")
DEF_AMO_W(amoswap_w, "amoswap.w")
DEF_AMO_W(amoswap_w_rl, "amoswap.w.rl")
DEF_AMO_D(amoadd_d, "amoadd.d")
DEF_AMO_D(amoadd_d_aq, "amoadd.d.aq")
DEF_AMO_D(amoadd_d_rl, "amoadd.d.rl")
DEF_AMO_D(amoadd_d_aqrl, "amoadd.d.aqrl")
DEF_AMO_D(amoor_d, "amoor.d")
DEF_AMO_D(amoswap_d_aqrl, "amoswap.d.aqrl")

// *p += inc by an LR/SC retry loop; returns how many SCs failed.
#define DEF_LRSC(name, lr, sc, add, T)                                        \
    static inline uint64_t name(volatile T* p, uint64_t inc) {                \
        uint64_t tmp, failed, retries = 0;                                    \
        __asm__ volatile("1: " lr                                             \
                         " %0, %3\n"                                          \
                         "   " add                                            \
                         " %0, %0, %4\n"                                      \
                         "   " sc                                             \
                         " %1, %0, %3\n"                                      \
                         "   beqz %1, 2f\n"                                   \
                         "   addi %2, %2, 1\n"                                \
                         "   j 1b\n"                                          \
                         "2:"                                                 \
                         : "=&r"(tmp), "=&r"(failed), "+r"(retries), "+A"(*p) \
                         : "r"(inc)                                           \
                         : "memory");                                         \
        return retries;                                                       \
    }
DEF_LRSC(lrsc_add_d, "lr.d", "sc.d", "add", uint64_t)
DEF_LRSC(lrsc_add_d_aq_rl, "lr.d.aq", "sc.d.rl", "add", uint64_t)
DEF_LRSC(lrsc_add_d_aqrl, "lr.d.aqrl", "sc.d.aqrl", "add", uint64_t)
DEF_LRSC(lrsc_add_w, "lr.w", "sc.w", "addw", uint32_t)
DEF_LRSC(lrsc_add_w_aq_rl, "lr.w.aq", "sc.w.rl", "addw", uint32_t)

// lr.d, sc.d (which succeeds unless the reservation was lost), then a second sc.d with no
// reservation left: that one must fail. Returns 1 when the second SC succeeded.
static inline int second_sc_succeeds(volatile uint64_t* p) {
    uint64_t tmp, first, second;
    __asm__ volatile(
        "1: lr.d %0, %3\n"
        "   sc.d %1, %0, %3\n"
        "   bnez %1, 1b\n"
        "   sc.d %2, %0, %3\n"
        : "=&r"(tmp), "=&r"(first), "=&r"(second), "+A"(*p)
        :
        : "memory");
    return second == 0;
}

static inline uint32_t lr_w_aq(volatile uint32_t* p) {
    int64_t r;
    __asm__ volatile("lr.w.aq %0, %1" : "=r"(r), "+A"(*p) : : "memory");
    return (uint32_t)r;
}

// 0 if it stored.
static inline uint64_t sc_w_rl(volatile uint32_t* p, uint32_t v) {
    uint64_t r;
    __asm__ volatile("sc.w.rl %0, %2, %1" : "=&r"(r), "+A"(*p) : "r"(v) : "memory");
    return r;
}

static inline void store_w(volatile uint32_t* p, uint32_t v) {
    __asm__ volatile("sw %1, %0" : "=m"(*p) : "r"(v) : "memory");
}
static inline void store_d(volatile uint64_t* p, uint64_t v) {
    __asm__ volatile("sd %1, %0" : "=m"(*p) : "r"(v) : "memory");
}

static inline uint64_t mtime(void) {
    return *(volatile uint64_t*)CLINT_MTIME;
}

// ---- output and exit ---------------------------------------------------------------------

static void put_char(char ch) {
    volatile uint8_t* uart = (volatile uint8_t*)UART_BASE;
    while ((uart[5] & 0x20) == 0) {
    }  // LSR.THRE
    uart[0] = (uint8_t)ch;
}
static void put(const char* s) {
    while (*s) put_char(*s++);
}
static void put_u(uint64_t v) {
    char buf[24];
    int i = 0;
    do {
        buf[i++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    while (i > 0) put_char(buf[--i]);
}

void smp_finish(unsigned code) __attribute__((noreturn));
void smp_finish(unsigned code) {
    tohost = ((uint64_t)code << 1) | 1;
    // Machines without HTIF (QEMU's virt) end here instead, after 0.2 s.
    const uint64_t t0 = mtime();
    while (mtime() - t0 < TIMEBASE_HZ / 5) {
    }
    *(volatile uint32_t*)TEST_BASE = code == 0 ? 0x5555 : (code << 16) | 0x3333;
    for (;;) __asm__ volatile("wfi");
}

void smp_trap(uint64_t cause, uint64_t epc, uint64_t tval, uint64_t hart) __attribute__((noreturn));
void smp_trap(uint64_t cause, uint64_t epc, uint64_t tval, uint64_t hart) {
    put("smp_stress: FAIL: trap on hart ");
    put_u(hart);
    put(": mcause ");
    put_u(cause & 0xff);
    put(cause >> 63 ? " (interrupt)" : "");
    put(", mepc 0x");
    for (int s = 60; s >= 0; s -= 4) put_char("0123456789abcdef"[(epc >> s) & 15]);
    put(", mtval 0x");
    for (int s = 60; s >= 0; s -= 4) put_char("0123456789abcdef"[(tval >> s) & 15]);
    put("\n");
    smp_finish(cause >> 63 ? 160 + (unsigned)(cause & 31) : 128 + (unsigned)(cause & 31));
}

// ---- failures, waits, barrier ------------------------------------------------------------

static line32 g_fail, g_fail_hart;  // first failure code and the hart that saw it
static line64 g_stat[MAX_HARTS];    // what each hart counted for the case's report line

static void fail(const ctx* c, unsigned code) {
    if (g_fail.v == 0) {
        g_fail_hart.v = c->hart;
        g_fail.v = code;
    }
}

// A wait that lasts HANG_SECONDS ends the run with 90 + case (run_smp.py's timeout is longer).
typedef struct {
    uint32_t n;
    uint64_t t0;
    unsigned what;
} spin_t;

static void spin_init(spin_t* s, unsigned what) {
    s->n = 0;
    s->t0 = mtime();
    s->what = what;
}
static inline void spin(spin_t* s) {
    __asm__ volatile(".word 0x0100000f");  // pause (Zihintpause; a FENCE W,0 elsewhere), as cpu_relax()
    if ((++s->n & 1023) != 0) return;
    if (mtime() - s->t0 > HANG_SECONDS * TIMEBASE_HZ) {
        put("smp_stress: FAIL: a wait did not end\n");
        smp_finish(90 + s->what);
    }
}
static void wait_at_least(volatile uint32_t* p, uint32_t v, unsigned what) {
    if (*p >= v) return;
    spin_t s;
    spin_init(&s, what);
    while (*p < v) spin(&s);
}

// Hart h has reached iteration i; it goes on once both its ring neighbours are within WINDOW
// iterations of it (the hart furthest behind never waits, so this cannot deadlock).
static void pace(const ctx* c, line32* progress, uint32_t i, unsigned what) {
    progress[c->hart].v = i;
    if (i <= WINDOW || c->n == 1) return;
    wait_at_least(&progress[(c->hart + 1) % c->n].v, i - WINDOW, what);
    wait_at_least(&progress[(c->hart + c->n - 1) % c->n].v, i - WINDOW, what);
}

static line32 g_bar_count, g_bar_gen;

// Sense-by-generation barrier: the last hart to arrive resets the count and opens the next
// generation with a release store.
static void barrier(const ctx* c, unsigned what) {
    const uint32_t gen = g_bar_gen.v;
    FENCE("r,rw");
    if ((uint32_t)amoadd_w_aqrl(&g_bar_count.v, 1) + 1 == c->n) {
        g_bar_count.v = 0;
        FENCE("rw,w");
        g_bar_gen.v = gen + 1;
        return;
    }
    spin_t s;
    spin_init(&s, what);
    while (g_bar_gen.v == gen) spin(&s);
    FENCE("r,rw");
}

// ---- case 1: AMO counters ----------------------------------------------------------------
// Details: 1 low half wrong (a carry or a lost update), 2 high half wrong, 3 amoadd.d sum
// wrong, 4 ticket counter wrong, 5 a ticket was handed out twice, 6 a ticket never, 7 an
// amoadd.w result not sign-extended, 8 a ticket out of range.

#define AMO_LO_START 0xfffff000u
static halves g_amo_w = {AMO_LO_START, 0};
static line64 g_amo_d, g_ticket;
static volatile uint64_t g_tickets[(MAX_HARTS * AMO_ITERS + 63) / 64];
static line32 g_amo_progress[MAX_HARTS];

static void case_amo(const ctx* c) {
    const uint64_t total = (uint64_t)c->n * AMO_ITERS;
    for (uint32_t i = 0; i < AMO_ITERS; ++i) {
        if ((i & 63) == 0) pace(c, g_amo_progress, i, 1);
        int64_t lo, hi;
        switch (i & 3) {
            case 0:
                lo = amoadd_w(&g_amo_w.lo, 1);
                hi = amoadd_w_aqrl(&g_amo_w.hi, 1);
                break;
            case 1:
                lo = amoadd_w_aq(&g_amo_w.lo, 1);
                hi = amoadd_w_rl(&g_amo_w.hi, 1);
                break;
            case 2:
                lo = amoadd_w_rl(&g_amo_w.lo, 1);
                hi = amoadd_w_aq(&g_amo_w.hi, 1);
                break;
            default:
                lo = amoadd_w_aqrl(&g_amo_w.lo, 1);
                hi = amoadd_w(&g_amo_w.hi, 1);
                break;
        }
        if (lo != (int64_t)(int32_t)lo || hi != (int64_t)(int32_t)hi) fail(c, 17);
        switch ((i >> 2) & 3) {
            case 0:
                amoadd_d(&g_amo_d.v, c->hart + 1);
                break;
            case 1:
                amoadd_d_aq(&g_amo_d.v, c->hart + 1);
                break;
            case 2:
                amoadd_d_rl(&g_amo_d.v, c->hart + 1);
                break;
            default:
                amoadd_d_aqrl(&g_amo_d.v, c->hart + 1);
                break;
        }
        const uint64_t t = amoadd_d(&g_ticket.v, 1);
        if (t >= total) {
            fail(c, 18);
            continue;
        }
        const uint64_t bit = 1ull << (t & 63);
        if (amoor_d(&g_tickets[t >> 6], bit) & bit) fail(c, 15);
    }
}

static void check_amo(const ctx* c) {
    if (c->hart != 0) return;
    const uint64_t total = (uint64_t)c->n * AMO_ITERS;
    if (g_amo_w.lo != (uint32_t)(AMO_LO_START + total)) fail(c, 11);
    if (g_amo_w.hi != (uint32_t)total) fail(c, 12);
    if (g_amo_d.v != (uint64_t)AMO_ITERS * c->n * (c->n + 1) / 2) fail(c, 13);
    if (g_ticket.v != total) fail(c, 14);
    for (uint64_t t = 0; t < total; ++t) {
        if ((g_tickets[t >> 6] & (1ull << (t & 63))) == 0) {
            fail(c, 16);
            break;
        }
    }
}

// ---- case 2: LR/SC counters --------------------------------------------------------------
// Details: 1 the doubleword counter (lr.d/sc.d + amoadd.d) lost or gained updates, 2 the
// lr.w/sc.w half wrong, 3 the amoadd.w half next to it wrong, 4 an SC succeeded with no
// reservation left.

#define LRSC_LO_START 0x7ffff000u
static line64 g_lrsc_d;
static halves g_lrsc_w = {LRSC_LO_START, 0};
static line32 g_lrsc_progress[MAX_HARTS];

static void case_lrsc(const ctx* c) {
    static line64 own[MAX_HARTS];  // each hart's private doubleword for the second-SC check
    uint64_t retries = 0;
    for (uint32_t i = 0; i < LRSC_ITERS; ++i) {
        if ((i & 63) == 0) pace(c, g_lrsc_progress, i, 2);
        switch (i % 3) {
            case 0:
                retries += lrsc_add_d(&g_lrsc_d.v, 1);
                break;
            case 1:
                retries += lrsc_add_d_aq_rl(&g_lrsc_d.v, 1);
                break;
            default:
                retries += lrsc_add_d_aqrl(&g_lrsc_d.v, 1);
                break;
        }
        amoadd_d(&g_lrsc_d.v, 1);
        retries += (i & 1) ? lrsc_add_w(&g_lrsc_w.lo, 1) : lrsc_add_w_aq_rl(&g_lrsc_w.lo, 1);
        amoadd_w(&g_lrsc_w.hi, 1);
        if ((i & 15) == 0 && second_sc_succeeds(&own[c->hart].v)) fail(c, 24);
    }
    g_stat[c->hart].v = retries;
}

static void check_lrsc(const ctx* c) {
    if (c->hart != 0) return;
    const uint64_t total = (uint64_t)c->n * LRSC_ITERS;
    if (g_lrsc_d.v != 2 * total) fail(c, 21);
    if (g_lrsc_w.lo != (uint32_t)(LRSC_LO_START + total)) fail(c, 22);
    if (g_lrsc_w.hi != (uint32_t)total) fail(c, 23);
}

// ---- case 3: message passing -------------------------------------------------------------
// Details: 1 data older than the flag that published it, 2 a flag read went backwards, 3 a
// value out of range.

typedef struct {
    volatile uint64_t d64a;
    volatile uint32_t d32a;
    uint32_t pad0;
    volatile uint64_t d64b;
    volatile uint32_t d32b;
} __attribute__((aligned(64))) mp_data;
static mp_data g_mp_data[MAX_HARTS];
static line32 g_mp_flag[MAX_HARTS], g_mp_progress[MAX_HARTS];

// Reads channel ch once: flag, an acquire of some kind, then the data in the other order.
static uint32_t mp_read(const ctx* c, unsigned ch, uint32_t i, uint32_t* last, uint64_t* overlapped) {
    uint32_t f;
    switch (i % 3) {
        case 0:
            f = g_mp_flag[ch].v;
            FENCE("r,r");
            break;
        case 1:
            f = g_mp_flag[ch].v;
            FENCE("r,rw");
            break;
        default:
            f = lr_w_aq(&g_mp_flag[ch].v);
            break;
    }
    const uint32_t d0 = g_mp_data[ch].d32b;
    const uint64_t d1 = g_mp_data[ch].d64b;
    const uint32_t d2 = g_mp_data[ch].d32a;
    const uint64_t d3 = g_mp_data[ch].d64a;
    if (d0 < f || d1 < f || d2 < f || d3 < f) fail(c, 31);
    *overlapped += d0 != f || d1 != f || d2 != f || d3 != f;  // the writer was between data and flag
    if (f < *last) fail(c, 32);
    if (f > MP_ITERS || d0 > MP_ITERS || d1 > MP_ITERS || d2 > MP_ITERS || d3 > MP_ITERS) fail(c, 33);
    *last = f;
    return f;
}

static void case_mp(const ctx* c) {
    const unsigned me = c->hart, next = (me + 1) % c->n;
    uint32_t last = 0, seen = 0;
    uint64_t overlapped = 0;
    for (uint32_t i = 1; i <= MP_ITERS; ++i) {
        pace(c, g_mp_progress, i, 3);
        g_mp_data[me].d64a = i;
        g_mp_data[me].d32a = i;
        g_mp_data[me].d64b = i;
        g_mp_data[me].d32b = i;
        switch (i % 3) {
            case 0:
                FENCE("w,w");
                g_mp_flag[me].v = i;
                break;
            case 1:
                FENCE("rw,w");
                g_mp_flag[me].v = i;
                break;
            default:
                amoswap_w_rl(&g_mp_flag[me].v, i);
                break;
        }
        seen = mp_read(c, next, i, &last, &overlapped);
    }
    spin_t s;
    spin_init(&s, 3);
    for (uint32_t i = 0; seen < MP_ITERS; ++i) {
        seen = mp_read(c, next, i, &last, &overlapped);
        spin(&s);
    }
    g_stat[me].v = overlapped;
}

// ---- case 4: store buffering -------------------------------------------------------------
// Details: 1 both harts of a pair missed each other's store (the forbidden outcome), 2 a
// hart's reads of its partner's variable went backwards or out of range.

static line64 g_sb_x[MAX_HARTS];
static line32 g_sb_progress[MAX_HARTS];
static uint32_t g_sb_log[MAX_HARTS][SB_ITERS + 1];  // [h][i]: what hart h read in iteration i

static void case_sb(const ctx* c) {
    const unsigned me = c->hart, partner = me ^ 1;
    if (partner >= c->n) return;  // odd one out
    volatile uint64_t* mine = &g_sb_x[me].v;
    volatile uint64_t* theirs = &g_sb_x[partner].v;
    for (uint32_t i = 1; i <= SB_ITERS; ++i) {
        if (i > WINDOW) wait_at_least(&g_sb_progress[partner].v, i - WINDOW, 4);
        uint64_t r;
        switch (i % 3) {
            case 0:
                store_d(mine, i);
                FENCE("rw,rw");
                r = *theirs;
                break;
            case 1:
                store_d(mine, i);
                FENCE("w,r");
                r = *theirs;
                break;
            default:
                amoswap_d_aqrl(mine, i);
                r = *theirs;
                break;
        }
        g_sb_log[me][i] = (uint32_t)r;
        g_sb_progress[me].v = i;
    }
}

// A[i] = what hart a read in its iteration i (it had stored i before), B likewise. Forbidden:
// some i, j with A[i] < j and B[j] < i. With B non-decreasing, the smallest B[j] over j > A[i]
// is B[A[i] + 1], so one pass finds any such pair. B[A[i] + 1] == i is the closest allowed
// call (B's load saw A's store i and no later one): counted as a tight race for the report.
static void check_sb(const ctx* c) {
    const unsigned a = c->hart, b = a ^ 1;
    if ((a & 1) != 0 || b >= c->n) return;
    const uint32_t* A = g_sb_log[a];
    const uint32_t* B = g_sb_log[b];
    for (uint32_t i = 1; i <= SB_ITERS; ++i) {
        if (A[i] > SB_ITERS || B[i] > SB_ITERS || A[i] < A[i - 1] || B[i] < B[i - 1]) {
            fail(c, 42);
            return;
        }
    }
    uint64_t tight = 0;
    for (uint32_t i = 1; i <= SB_ITERS; ++i) {
        const uint32_t j = A[i] + 1;
        if (j <= SB_ITERS && B[j] < i) {
            fail(c, 41);
            return;
        }
        tight += j <= SB_ITERS && B[j] == i;
    }
    g_stat[a].v = tight;
}

// ---- case 5: code published by one hart, run by the others -------------------------------
// Details: 1 a hart ran the slot's previous function (stale code), 2 some other wrong value,
// 3 hart 0 got a wrong value from the function it had just written.

static uint32_t g_code[1024] __attribute__((aligned(4096)));  // one page: SMC_SLOTS slots of 4 words
static line32 g_smc_gen, g_smc_ack[MAX_HARTS];

#define RV_RET 0x00008067u  // jalr x0, 0(ra)
#define RV_NOP 0x00000013u  // addi x0, x0, 0
static uint32_t rv_lui_a0(uint32_t imm20) {
    return (imm20 & 0xfffff) << 12 | 10u << 7 | 0x37;
}
static uint32_t rv_addiw_a0(int32_t imm) {
    return ((uint32_t)imm & 0xfff) << 20 | 10u << 15 | 10u << 7 | 0x1b;
}
static uint32_t rv_li_a0(int32_t imm) {
    return ((uint32_t)imm & 0xfff) << 20 | 10u << 7 | 0x13;
}
static uint32_t rv_xori_a0(int32_t imm) {
    return ((uint32_t)imm & 0xfff) << 20 | 10u << 15 | 4u << 12 | 10u << 7 | 0x13;
}

typedef struct {
    uint32_t w[4];
    int64_t value;
} smc_fn;

// Iteration i's function: one of three shapes (so block lengths change too) and its result.
static void smc_encode(uint32_t i, smc_fn* f) {
    const uint32_t v = i * 0x9e3779b1u;
    const int32_t lo = (int32_t)(v << 20) >> 20;
    const uint32_t hi = (v - (uint32_t)lo) >> 12;
    const int32_t k = (int32_t)(i & 0x7ff);
    switch (i % 3) {
        case 0:
            f->w[0] = rv_lui_a0(hi), f->w[1] = rv_addiw_a0(lo), f->w[2] = RV_RET, f->w[3] = RV_NOP;
            f->value = (int32_t)v;
            break;
        case 1:
            f->w[0] = rv_li_a0(k - 1024), f->w[1] = RV_RET, f->w[2] = RV_NOP, f->w[3] = RV_NOP;
            f->value = k - 1024;
            break;
        default:
            f->w[0] = rv_lui_a0(hi), f->w[1] = rv_addiw_a0(lo), f->w[2] = rv_xori_a0(k), f->w[3] = RV_RET;
            f->value = (int64_t)(int32_t)v ^ k;
            break;
    }
}

static int64_t smc_call(uint32_t slot) {
    int64_t (*fn)(void) = (int64_t(*)(void))(uintptr_t)&g_code[slot * 4];
    return fn();
}

static void case_smc(const ctx* c) {
    smc_fn f;
    if (c->hart == 0) {
        for (uint32_t i = 1; i <= SMC_ITERS; ++i) {
            const uint32_t slot = i % SMC_SLOTS;
            if (i > SMC_SLOTS) {
                for (unsigned h = 1; h < c->n; ++h) wait_at_least(&g_smc_ack[h].v, i - SMC_SLOTS, 5);
            }
            FENCE("r,rw");  // their runs of the slot's previous code come before this rewrite
            smc_encode(i, &f);
            volatile uint32_t* w = &g_code[slot * 4];
            if (i & 1) {
                for (int k = 0; k < 4; ++k) store_w(&w[k], f.w[k]);
            } else {
                store_d((volatile uint64_t*)&w[0], (uint64_t)f.w[1] << 32 | f.w[0]);
                store_d((volatile uint64_t*)&w[2], (uint64_t)f.w[3] << 32 | f.w[2]);
            }
            __asm__ volatile("fence.i" ::: "memory");
            if (smc_call(slot) != f.value) fail(c, 53);
            if (i & 2) {
                FENCE("w,w");
            } else {
                FENCE("rw,w");
            }
            g_smc_gen.v = i;
        }
        return;
    }
    for (uint32_t i = 1; i <= SMC_ITERS; ++i) {
        wait_at_least(&g_smc_gen.v, i, 5);
        FENCE("r,rw");
        __asm__ volatile("fence.i" ::: "memory");
        const int64_t got = smc_call(i % SMC_SLOTS);
        smc_encode(i, &f);
        if (got != f.value) {
            smc_fn old;
            smc_encode(i - SMC_SLOTS, &old);
            fail(c, i > SMC_SLOTS && got == old.value ? 51 : 52);
        }
        FENCE("rw,w");
        g_smc_ack[c->hart].v = i;
    }
}

// ---- case 6: A-B-A between an LR and its SC -----------------------------------------------
// Details: 1 an SC succeeded although the partner had stored B and A again since its LR, 2 the
// word was not A after the failed SC.

static line32 g_aba_word[MAX_HARTS / 2], g_aba_go[MAX_HARTS / 2], g_aba_done[MAX_HARTS / 2];

// Hart h of the pair. Its LR is ordered before its signal (aq), the partner's stores after its
// read of the signal (fence r,w) and before its answer (fence w,w), the SC after the read of the
// answer (rl): B lies between the LR and the SC in global memory order (RVWMO, ch. 17), so the
// SC must fail.
static void aba_lr_wait_sc(const ctx* c, unsigned pair) {
    volatile uint32_t* word = &g_aba_word[pair].v;
    for (uint32_t i = 1; i <= ABA_ITERS; ++i) {
        const uint32_t a = lr_w_aq(word);
        g_aba_go[pair].v = i;
        wait_at_least(&g_aba_done[pair].v, i, 6);
        if (sc_w_rl(word, a + 1) == 0) fail(c, 61);
        if (*word != a) fail(c, 62);
        lrsc_add_w(word, 1);  // a constrained loop: A moves on for the next round
    }
    g_stat[c->hart].v = ABA_ITERS;
}

// Its partner: B, then A again, by plain stores or by AMOs in turn.
static void aba_store_b_then_a(unsigned pair) {
    volatile uint32_t* word = &g_aba_word[pair].v;
    for (uint32_t i = 1; i <= ABA_ITERS; ++i) {
        wait_at_least(&g_aba_go[pair].v, i, 6);
        FENCE("r,w");
        const uint32_t a = *word, b = a ^ 0x80000001u;
        if (i & 1) {
            store_w(word, b);
            store_w(word, a);
        } else {
            amoswap_w(word, (int64_t)b);
            amoswap_w(word, (int64_t)a);
        }
        FENCE("w,w");
        g_aba_done[pair].v = i;
    }
}

static void case_aba(const ctx* c) {
    g_stat[c->hart].v = 0;
    if ((c->hart ^ 1) >= c->n) return;  // no partner
    if ((c->hart & 1) == 0) {
        aba_lr_wait_sc(c, c->hart / 2);
    } else {
        aba_store_b_then_a(c->hart / 2);
    }
}

// ---- driver ------------------------------------------------------------------------------

// Harts in the device tree: the cpu@ nodes under /cpus. 0 for an unreadable tree.
static uint32_t be32(const uint8_t* p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static unsigned count_harts(const uint8_t* fdt) {
    if (fdt == 0 || be32(fdt) != 0xd00dfeed) return 0;
    const uint32_t size = be32(fdt + 4);
    if (size > (1u << 20)) return 0;
    const uint8_t* p = fdt + be32(fdt + 8);
    const uint8_t* end = fdt + size;
    int depth = 0, in_cpus = 0;
    unsigned n = 0;
    while (p + 4 <= end) {
        const uint32_t token = be32(p);
        p += 4;
        if (token == 1) {  // FDT_BEGIN_NODE
            const char* name = (const char*)p;
            unsigned len = 0;
            while (p + len < end && name[len] != 0) ++len;
            p += (len + 4) & ~3u;
            ++depth;
            if (depth == 2 && len == 4 && name[0] == 'c' && name[1] == 'p' && name[2] == 'u' && name[3] == 's') {
                in_cpus = 1;
            } else if (in_cpus && depth == 3 && len > 4 && name[0] == 'c' && name[1] == 'p' && name[2] == 'u' &&
                       name[3] == '@') {
                ++n;
            }
        } else if (token == 2) {  // FDT_END_NODE
            if (depth == 2) in_cpus = 0;
            --depth;
        } else if (token == 3) {  // FDT_PROP
            if (p + 8 > end) break;
            p += 8 + ((be32(p) + 3) & ~3u);
        } else if (token != 4) {  // FDT_NOP goes on; FDT_END or anything else stops
            break;
        }
    }
    return n;
}

typedef struct {
    const char* name;
    void (*run)(const ctx*);
    void (*check)(const ctx*);
    const char* stat;  // what g_stat counts, summed over the harts for the report line
} test_case;

static const test_case g_cases[] = {
    {"amo counters", case_amo, check_amo, 0},
    {"lr/sc counters", case_lrsc, check_lrsc, "SC retries"},
    {"message passing", case_mp, 0, "reads overlapping a write"},
    {"store buffering", case_sb, check_sb, "tight races"},
    {"cross-hart code", case_smc, 0, 0},
    {"lr/sc a-b-a", case_aba, 0, "A-B-A rounds"},
};

void smp_main(uint64_t hartid, const uint8_t* fdt) {
    unsigned n = count_harts(fdt);
    if (n > MAX_HARTS) n = MAX_HARTS;
    if (n == 0 || hartid >= n) {
        if (hartid == 0) {
            put("smp_stress: FAIL: no harts in the device tree\n");
            smp_finish(99);
        }
        return;
    }
    const ctx c = {(unsigned)hartid, n};
    if (c.hart == 0) {
        put("smp_stress: ");
        put_u(n);
        put(n == 1 ? " hart\n" : " harts\n");
    }
    barrier(&c, 0);
    for (unsigned k = 0; k < sizeof g_cases / sizeof g_cases[0]; ++k) {
        const uint64_t t0 = mtime();
        g_cases[k].run(&c);
        barrier(&c, k + 1);
        if (g_cases[k].check) g_cases[k].check(&c);
        barrier(&c, k + 1);
        if (c.hart != 0) continue;
        put("smp_stress: case ");
        put_u(k + 1);
        put(" (");
        put(g_cases[k].name);
        put("): ");
        const uint32_t code = g_fail.v;
        if (code != 0) {
            put("FAIL: detail ");
            put_u(code % 10);
            put(", seen by hart ");
            put_u(g_fail_hart.v);
            put("\n");
            smp_finish(code);
        }
        put("ok, ");
        put_u((mtime() - t0) / (TIMEBASE_HZ / 1000));
        put(" ms");
        if (g_cases[k].stat) {
            uint64_t sum = 0;
            for (unsigned h = 0; h < n; ++h) sum += g_stat[h].v;
            put(", ");
            put_u(sum);
            put(" ");
            put(g_cases[k].stat);
        }
        if ((k == 3 || k == 5) && n == 1) put(" (no pair on 1 hart)");
        put("\n");
    }
    if (c.hart == 0) {
        put("smp_stress: PASS\n");
        smp_finish(0);
    }
}
