// csr.S — Zicsr and the machine/supervisor CSRs (priv spec ch. 2, 3, 4): misa, mhartid,
// read/write/set/clear forms and when they count as writes, counters (cycle/instret/time,
// mcounteren/scounteren gating), illegal accesses (non-existent, too little privilege,
// read-only) with mcause 2 and mtval = the instruction, WARL fields, the sstatus/sie/sip
// views, and the fcsr/frm/fflags aliases.
#include "test_macros.h"

// Defined: misa must equal this value exactly (e.g. 0x800000000014112d for RV64IMAFDCSU).
// Otherwise: the RV64IMAFDC + S + U bits must be set, other extensions are allowed.
// #define TRAPEZE_ISA_MISA_EXACT 0x800000000014112d

#define MISA_MXL_64 (2 << 62)
#define MISA_BIT(letter) (1 << ((letter) - 'A'))
#define MISA_REQUIRED (MISA_BIT('I') | MISA_BIT('M') | MISA_BIT('A') | MISA_BIT('F') | \
                       MISA_BIT('D') | MISA_BIT('C') | MISA_BIT('S') | MISA_BIT('U'))

#define CSR_UNALLOCATED 0x0ff                // no standard CSR, and not a custom range

// How long to wait for mtime to move: far more than 1/10 MHz needs, far less than a timeout.
#define TIME_SPIN_LIMIT 10000000

TEST_BEGIN
    mv s11, a0                                  // hartid as handed over at entry

    // --- identification ----------------------------------------------------------------------
    CASE(1)
    csrr a0, misa
    srli a1, a0, 62
    CHECK(a1, 2)                                // MXL = 64
    CASE(2)
    li a2, MISA_REQUIRED
    and a1, a0, a2
    CHECK_REG(a1, a2)
#ifdef TRAPEZE_ISA_MISA_EXACT
    CASE(3)
    CHECK(a0, TRAPEZE_ISA_MISA_EXACT)
#endif
    CASE(4)
    csrr a0, mhartid
    CHECK(a0, 0)
    CHECK_REG(a0, s11)                          // a0 at entry = mhartid
    // Read-only CSRs: reading is fine, any write attempt is illegal.
    CASE(5)
    EXPECT_TRAP(CAUSE_ILLEGAL_INSTRUCTION, 1: csrw mhartid, a0)
    CHECK_MTVAL_INSN(1b)
    CASE(6)
    EXPECT_TRAP(CAUSE_ILLEGAL_INSTRUCTION, 2: csrrwi a0, mvendorid, 0)
    CHECK_MTVAL_INSN(2b)
    CASE(7)
    EXPECT_TRAP(CAUSE_ILLEGAL_INSTRUCTION, 3: csrw cycle, zero)     // the user counters are read-only
    CHECK_MTVAL_INSN(3b)
    CASE(8)
    EXPECT_TRAP(CAUSE_ILLEGAL_INSTRUCTION, csrci instret, 1)
    // csrrs/csrrc with rs1 = x0 (or zimm = 0) do not write: legal on read-only CSRs.
    TEST_CASE(9, a0, 0, csrrs a0, mhartid, zero)
    TEST_CASE(10, a0, 0, csrrci a0, mhartid, 0)
    CASE(11)
    csrr a0, marchid
    csrr a0, mimpid
    csrr a0, mvendorid
#if TRAPEZE_ISA_CSRRS_ZERO_REG_WRITES
    // ...but with rs1 != x0 they do attempt a write, even of a zero value (unpriv spec §9.1).
    CASE(12)
    li a1, 0
    EXPECT_TRAP(CAUSE_ILLEGAL_INSTRUCTION, csrrs a0, mhartid, a1)
#endif

    // --- read/write/set/clear --------------------------------------------------------------------
    // mscratch holds the trap handler's stack (crt.S): no trap may happen until it is back.
    csrr s10, mscratch
    CASE(13)
    li a1, 0x0123456789abcdef
    csrw mscratch, a1
    csrr a0, mscratch
    CHECK_REG(a0, a1)
    CASE(14)
    li a2, 0xfedcba9876543210
    csrrw a0, mscratch, a2                      // returns the old value
    CHECK_REG(a0, a1)
    csrr a0, mscratch
    CHECK_REG(a0, a2)
    CASE(15)
    li a1, 0x0f
    csrrs a0, mscratch, a1
    CHECK(a0, 0xfedcba9876543210)
    csrr a0, mscratch
    CHECK(a0, 0xfedcba987654321f)
    CASE(16)
    li a1, 0xf0000000000000f0
    csrrc a0, mscratch, a1
    csrr a0, mscratch
    CHECK(a0, 0x0edcba987654320f)
    CASE(17)
    csrrwi a0, mscratch, 31                     // zimm is zero-extended
    csrr a0, mscratch
    CHECK(a0, 31)
    CASE(18)
    csrrci a0, mscratch, 0x11
    csrrsi a0, mscratch, 0x40 >> 2              // 0x10
    csrr a0, mscratch
    CHECK(a0, 0x1e)
    CASE(19)
    csrrw zero, mscratch, zero                  // rd = x0: write only
    csrr a0, mscratch
    CHECK(a0, 0)
    csrw mscratch, s10

    // --- counters -----------------------------------------------------------------------------------
    CASE(20)
    rdcycle a0
    li a2, 100
1:  addi a2, a2, -1
    bnez a2, 1b
    rdcycle a1
    bgtu a1, a0, 2f
    j fail
2:  CASE(21)
    rdinstret a0
    li a2, 100
1:  addi a2, a2, -1
    bnez a2, 1b
    rdinstret a1
    sub a1, a1, a0
    li a3, 200                                  // 100 iterations of 2 instructions
    bgeu a1, a3, 2f
    j fail
2:  CASE(22)
    csrr a0, mcycle                             // the machine names are the same counters
    rdcycle a1
    bgeu a1, a0, 3f
    j fail
3:  CASE(23)
    li a1, 1 << 48
    csrw minstret, a1                           // minstret is writable: it counts on from there
    csrr a0, minstret
    sub a0, a0, a1
    srli a0, a0, 32                             // (loose: QEMU counts host ticks)
    beqz a0, 4f
    j fail
4:
#if TRAPEZE_ISA_TIME_CSR
    // time moves, and agrees with the CLINT's mtime.
    CASE(24)
    rdtime a0
    li a2, TIME_SPIN_LIMIT
1:  rdtime a1
    bne a1, a0, 2f
    addi a2, a2, -1
    bnez a2, 1b
    j fail
2:  CASE(25)
    li a3, CLINT_MTIME
    rdtime a0
    ld a1, 0(a3)
    rdtime a2
    bltu a1, a0, 3f
    bltu a2, a1, 3f
    j 4f
3:  j fail
4:
#endif
    // Counter access from S/U is gated by mcounteren (and for U also by scounteren).
    li t0, 7
    csrw scounteren, t0
    csrw mcounteren, zero
    TEST_TRAP_IN(26, PRV_S, CAUSE_ILLEGAL_INSTRUCTION, rdcycle a0)
    TEST_TRAP_IN(27, PRV_U, CAUSE_ILLEGAL_INSTRUCTION, rdinstret a0)
    li t0, 5                                    // CY and IR, not TM
    csrw mcounteren, t0
    TEST_NO_TRAP_IN(28, PRV_S, rdcycle a0; rdinstret a0)
    TEST_NO_TRAP_IN(29, PRV_U, rdcycle a0)
    csrw scounteren, zero
    TEST_TRAP_IN(30, PRV_U, CAUSE_ILLEGAL_INSTRUCTION, rdcycle a0)
    TEST_NO_TRAP_IN(31, PRV_S, rdinstret a0)   // scounteren does not gate S
#if TRAPEZE_ISA_TIME_CSR
    TEST_TRAP_IN(32, PRV_S, CAUSE_ILLEGAL_INSTRUCTION, rdtime a0)
    li t0, 7
    csrw mcounteren, t0
    TEST_NO_TRAP_IN(33, PRV_S, rdtime a0)
#endif
    csrw mcounteren, zero

    // --- illegal accesses: mcause 2, mtval = the instruction --------------------------------------------
    CASE(34)
    EXPECT_TRAP(CAUSE_ILLEGAL_INSTRUCTION, 1: csrr a0, CSR_UNALLOCATED)
    CHECK_MTVAL_INSN(1b)
    CHECK_MEPC(1b)
    CASE(35)
    RUN_IN(PRV_S, 2: csrr a0, mstatus)          // an M-mode CSR from S-mode
    CHECK_MCAUSE(CAUSE_ILLEGAL_INSTRUCTION)
    CHECK_MTVAL_INSN(2b)
    CASE(36)
    RUN_IN(PRV_U, 3: csrr a0, sstatus)          // an S-mode CSR from U-mode
    CHECK_MCAUSE(CAUSE_ILLEGAL_INSTRUCTION)
    CHECK_MTVAL_INSN(3b)
    CASE(37)
    RUN_IN(PRV_S, 4: csrw mscratch, a0)
    CHECK_MCAUSE(CAUSE_ILLEGAL_INSTRUCTION)
    CHECK_MTVAL_INSN(4b)
    CASE(38)
    RUN_IN(PRV_U, 5: csrrs a0, sscratch, zero)  // even a pure read
    CHECK_MCAUSE(CAUSE_ILLEGAL_INSTRUCTION)
    CHECK_MTVAL_INSN(5b)
    TEST_NO_TRAP_IN(39, PRV_S, csrw sscratch, a0; csrr a0, sscratch)

    // --- WARL fields -------------------------------------------------------------------------------------
#if TRAPEZE_ISA_MPP_WARL
    // mstatus.MPP = 2 is reserved: the field keeps a legal value.
    CASE(40)
    li a1, MSTATUS_MPP
    csrc mstatus, a1
    li a1, 2 << 11
    csrs mstatus, a1
    csrr a0, mstatus
    srli a0, a0, 11
    andi a0, a0, 3
    li a2, 2
    bne a0, a2, 1f
    j fail
1:  li a1, MSTATUS_MPP
    csrs mstatus, a1
#endif
#if TRAPEZE_ISA_XEPC_BIT0_ZERO
    // mepc: bit 0 is always zero (IALIGN = 16 with C).
    CASE(41)
    li a1, 0x80000003
    csrw mepc, a1
    csrr a0, mepc
    CHECK(a0, 0x80000002)
    CASE(42)
    li a1, 0x80001001
    csrw sepc, a1
    csrr a0, sepc
    CHECK(a0, 0x80001000)
#endif
    // medeleg[11] (ecall from M) is read-only zero; mideleg cannot delegate M interrupts.
    CASE(43)
    li a1, -1
    csrw medeleg, a1
    csrr a0, medeleg
    csrw medeleg, zero
    srli a2, a0, CAUSE_ECALL_U                  // ecall from U is delegable
    andi a2, a2, 1
    CHECK(a2, 1)
    srli a0, a0, CAUSE_ECALL_M
    andi a0, a0, 1
#if TRAPEZE_ISA_MEDELEG11_ZERO
    CHECK(a0, 0)
#endif
    CASE(44)
    li a1, -1
    csrw mideleg, a1
    csrr a0, mideleg
    csrw mideleg, zero
    li a1, MIP_MSIP | MIP_MTIP | MIP_MEIP
    and a0, a0, a1
    CHECK(a0, 0)

    // --- supervisor views of machine state ------------------------------------------------------------------
    // sstatus is a window on mstatus: SUM is shared, MPP is not reachable.
    CASE(45)
    li a1, MSTATUS_SUM
    csrs sstatus, a1
    csrr a0, mstatus
    and a0, a0, a1
    CHECK_REG(a0, a1)
    csrc mstatus, a1
    csrr a0, sstatus
    and a0, a0, a1
    CHECK(a0, 0)
    CASE(46)
    csrr a2, mstatus
    li a1, MSTATUS_MPP | MSTATUS_MPRV
    csrc sstatus, a1
    csrr a0, mstatus
    CHECK_REG(a0, a2)                           // unchanged
    csrr a0, sstatus
    and a0, a0, a1
    CHECK(a0, 0)                                // and invisible
    // sie/sip show only delegated interrupts.
    CASE(47)
    csrw mideleg, zero
    li a1, MIP_STIP
    csrs sie, a1
    csrr a0, sie
    CHECK(a0, 0)
    csrr a0, mie
    CHECK(a0, 0)
    CASE(48)
    csrw mideleg, a1
    csrs sie, a1
    csrr a0, sie
    CHECK_REG(a0, a1)
    csrr a0, mie
    CHECK_REG(a0, a1)
    csrw mie, zero
    CASE(49)
    li a1, MIP_SSIP
    csrw mideleg, a1
    csrs sip, a1                                // SSIP is writable through sip when delegated
    csrr a0, mip
    and a0, a0, a1
    CHECK_REG(a0, a1)
    csrc mip, a1
    csrr a0, sip
    CHECK(a0, 0)
    csrw mideleg, zero

    // --- fcsr = frm << 5 | fflags ----------------------------------------------------------------------------
    li t0, MSTATUS_FS_INITIAL
    csrs mstatus, t0
    CASE(50)
    li a1, 0xff
    csrw fcsr, a1
    frrm a0
    CHECK(a0, 7)
    frflags a0
    CHECK(a0, 0x1f)
    CASE(51)
    li a1, 0xfff                                // bits above 7 are zero
    csrw fcsr, a1
    frcsr a0
    CHECK(a0, 0xff)
    CASE(52)
    fsrmi a0, 3                                 // returns the old frm
    CHECK(a0, 7)
    frcsr a0
    CHECK(a0, (3 << 5) | 0x1f)
    CASE(53)
    csrwi fflags, 0x05
    frcsr a0
    CHECK(a0, (3 << 5) | 0x05)
    CASE(54)
    li a1, 0xfa                                 // frm takes 3 bits, fflags 5
    csrw frm, a1
    csrr a0, frm
    CHECK(a0, 2)
    csrw fflags, a1
    csrr a0, fflags
    CHECK(a0, 0x1a)
    frcsr a0
    CHECK(a0, (2 << 5) | 0x1a)
    CASE(55)
    fscsr a0, zero
    CHECK(a0, (2 << 5) | 0x1a)
    frcsr a0
    CHECK(a0, 0)
TEST_END
