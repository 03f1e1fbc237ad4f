// crt.S — runtime of trapeze's bare-metal ISA tests: reset into a known M-mode state, the
// M- and S-mode trap handlers, and pass/fail through HTIF tohost. The interface is
// described in test_macros.h.
#include "test_macros.h"

#define FRAME_SIZE (32 * 8)

// --- entry ------------------------------------------------------------------------------
    .section .text.init, "ax", @progbits
    .global _start
_start:
    // A known register file: only a0 (hartid) and a1 (dtb) are defined at entry.
    li x1, 0
    li x2, 0
    li x3, 0
    li x4, 0
    li x5, 0
    li x6, 0
    li x7, 0
    li x8, 0
    li x9, 0
    li x12, 0
    li x13, 0
    li x14, 0
    li x15, 0
    li x16, 0
    li x17, 0
    li x18, 0
    li x19, 0
    li x20, 0
    li x21, 0
    li x22, 0
    li x23, 0
    li x24, 0
    li x25, 0
    li x26, 0
    li x27, 0
    li x28, 0
    li x29, 0
    li x30, 0
    li x31, 0

    // Only hart 0 runs the test; any other parks.
    csrr t0, mhartid
    bnez t0, park

    // Setup steps that may be absent on some harts skip themselves through this vector.
    la t0, early_trap
    csrw mtvec, t0

    // A known machine state (priv spec ch. 3 leaves most of it unspecified at reset).
    li t0, MSTATUS_MPP | MSTATUS_MPRV | MSTATUS_SUM | MSTATUS_MXR | MSTATUS_TVM | MSTATUS_TW | \
           MSTATUS_TSR | MSTATUS_FS | MSTATUS_MIE | MSTATUS_MPIE | MSTATUS_SIE | MSTATUS_SPIE | \
           MSTATUS_SPP
    csrc mstatus, t0
    li t0, MSTATUS_MPP        // MPP = M: a stray mret stays in M-mode
    csrs mstatus, t0
    csrw mie, zero
    csrw mip, zero
    csrw medeleg, zero
    csrw mideleg, zero
    csrw satp, zero
    csrw CSR_MENVCFG, zero
    // S/U-mode need a PMP entry to reach memory at all (priv spec §3.7.1): one NAPOT entry
    // covering the whole address space with RWX.
    li t0, -1
    csrw pmpaddr0, t0
    li t0, PMP_NAPOT | PMP_R | PMP_W | PMP_X
    csrw pmpcfg0, t0

    // Zero .bss (page tables, stacks) rather than trust the loader to.
    la t0, __bss_start
    la t1, __bss_end
1:  bgeu t0, t1, 2f
    sd zero, 0(t0)
    addi t0, t0, 8
    j 1b
2:  la sp, stack_top
    la t0, trap_stack_top
    csrw mscratch, t0
    la t0, strap_vector
    csrw stvec, t0
    la t0, trap_vector
    csrw mtvec, t0
    j test_main

    .align 2
early_trap:
    csrr t0, mepc
    addi t0, t0, 4            // every setup instruction is a 4-byte CSR access
    csrw mepc, t0
    mret

park:
    wfi
    j park

// --- pass / fail --------------------------------------------------------------------------
    .text
    .global pass
pass:
    fence
#if TRAPEZE_ISA_EXIT_SIFIVE_TEST
    li t1, SIFIVE_TEST_BASE
    li t0, 0x5555
    sw t0, 0(t1)
#endif
    li t0, 1
    sd t0, tohost, t1
1:  j 1b

    .global fail
fail:
    fence
    bnez gp, 1f
    li gp, 252                // failure outside any case
1:
#ifdef TRAPEZE_ISA_VERBOSE
    // Debug aid (-DTRAPEZE_ISA_VERBOSE; needs the debug console, see PUTCHAR_A0): the case
    // and the last trap the handler recorded.
    mv s0, gp
    la a0, msg_case
    call debug_puts
    mv a0, s0
    call debug_puthex
    la a0, msg_mcause
    call debug_puts
    ld a0, trap_mcause
    call debug_puthex
    la a0, msg_mepc
    call debug_puts
    ld a0, trap_mepc
    call debug_puthex
    la a0, msg_mtval
    call debug_puts
    ld a0, trap_mtval
    call debug_puthex
    li a0, '\n'
    call debug_putchar
    mv gp, s0
#endif
#if TRAPEZE_ISA_EXIT_SIFIVE_TEST
    slli t0, gp, 16
    li t1, 0x3333
    or t0, t0, t1
    li t1, SIFIVE_TEST_BASE
    sw t0, 0(t1)
#endif
    slli t0, gp, 1
    ori t0, t0, 1
    sd t0, tohost, t1
2:  j 2b

// Writes the character in a0 to the debug console (PUTCHAR_A0). Clobbers a0, t5, t6.
    .global debug_putchar
debug_putchar:
    andi a0, a0, 0xff
#if TRAPEZE_ISA_EXIT_SIFIVE_TEST
    li t5, UART_BASE
1:  lbu t6, 5(t5)             // LSR: wait for THRE
    andi t6, t6, 0x20
    beqz t6, 1b
    sb a0, 0(t5)
#else
    la t5, tohost
1:  ld t6, 0(t5)              // wait until the host took the previous command
    bnez t6, 1b
    li t6, 0x0101
    slli t6, t6, 48           // HTIF device 1 (console), command 1 (putchar)
    or t6, t6, a0
    sd t6, 0(t5)
2:  ld t6, 0(t5)
    bnez t6, 2b
    sd zero, fromhost, t6
#endif
    ret

#ifdef TRAPEZE_ISA_VERBOSE
// Writes the NUL-terminated string at a0. Clobbers a0, a1, s1, t5, t6.
debug_puts:
    mv a1, a0
    mv s1, ra
1:  lbu a0, 0(a1)
    beqz a0, 2f
    call debug_putchar
    addi a1, a1, 1
    j 1b
2:  mv ra, s1
    ret

// Writes a0 as 16 hex digits. Clobbers a0, a1, a2, s1, t5, t6.
debug_puthex:
    mv a1, a0
    mv s1, ra
    li a2, 60
1:  srl a0, a1, a2
    andi a0, a0, 15
    addi a0, a0, '0'
    li t5, '9'
    ble a0, t5, 2f
    addi a0, a0, 'a' - '9' - 1
2:  call debug_putchar
    addi a2, a2, -4
    bgez a2, 1b
    mv ra, s1
    ret

    .section .rodata
msg_case: .string "FAIL case 0x"
msg_mcause: .string " last trap: mcause 0x"
msg_mepc: .string " mepc 0x"
msg_mtval: .string " mtval 0x"
    .text
#endif

// --- M-mode trap handler ------------------------------------------------------------------
    .align 2
    .global trap_vector
trap_vector:
    csrrw sp, mscratch, sp    // sp = trap stack, mscratch = interrupted sp
    addi sp, sp, -FRAME_SIZE
    sd x1, 1*8(sp)
    sd x3, 3*8(sp)
    sd x4, 4*8(sp)
    sd x5, 5*8(sp)
    sd x6, 6*8(sp)
    sd x7, 7*8(sp)
    sd x8, 8*8(sp)
    sd x9, 9*8(sp)
    sd x10, 10*8(sp)
    sd x11, 11*8(sp)
    sd x12, 12*8(sp)
    sd x13, 13*8(sp)
    sd x14, 14*8(sp)
    sd x15, 15*8(sp)
    sd x16, 16*8(sp)
    sd x17, 17*8(sp)
    sd x18, 18*8(sp)
    sd x19, 19*8(sp)
    sd x20, 20*8(sp)
    sd x21, 21*8(sp)
    sd x22, 22*8(sp)
    sd x23, 23*8(sp)
    sd x24, 24*8(sp)
    sd x25, 25*8(sp)
    sd x26, 26*8(sp)
    sd x27, 27*8(sp)
    sd x28, 28*8(sp)
    sd x29, 29*8(sp)
    sd x30, 30*8(sp)
    sd x31, 31*8(sp)
    csrr t0, mscratch
    sd t0, 2*8(sp)
    addi t0, sp, FRAME_SIZE   // mscratch = trap stack again, for the next trap
    csrw mscratch, t0

    // A trap while handling one (a broken hook or handler) ends the test with 251.
    la t0, trap_depth
    ld t1, 0(t0)
    bnez t1, nested_trap
    li t1, 1
    sd t1, 0(t0)

    csrr a0, mcause
    csrr a1, mepc
    csrr a2, mtval
    csrr a3, mstatus
    sd a0, trap_mcause, t0
    sd a1, trap_mepc, t0
    sd a2, trap_mtval, t0
    sd a3, trap_mstatus, t0
    la t0, trap_count
    ld t1, 0(t0)
    addi t1, t1, 1
    sd t1, 0(t0)

    ld t0, trap_hook
    beqz t0, 1f
    mv a3, sp
    jalr t0
    bnez a0, trap_return

1:  la t0, trap_resume
    ld t1, 0(t0)
    beqz t1, unexpected_trap
    sd zero, 0(t0)            // one-shot
    csrw mepc, t1
    li t0, MSTATUS_MPP        // resume in M-mode...
    csrs mstatus, t0
    // ...with its own view of memory (a trap under MPRV ends it), and V=0: with MPP = M the mret
    // ignores MPV (H extension), but QEMU 7.2 would return into M-mode with V=1.
    li t0, MSTATUS_MPRV | MSTATUS_MPV
    csrc mstatus, t0

trap_return:
    sd zero, trap_depth, t0
    ld x1, 1*8(sp)
    ld x3, 3*8(sp)
    ld x4, 4*8(sp)
    ld x5, 5*8(sp)
    ld x6, 6*8(sp)
    ld x7, 7*8(sp)
    ld x8, 8*8(sp)
    ld x9, 9*8(sp)
    ld x10, 10*8(sp)
    ld x11, 11*8(sp)
    ld x12, 12*8(sp)
    ld x13, 13*8(sp)
    ld x14, 14*8(sp)
    ld x15, 15*8(sp)
    ld x16, 16*8(sp)
    ld x17, 17*8(sp)
    ld x18, 18*8(sp)
    ld x19, 19*8(sp)
    ld x20, 20*8(sp)
    ld x21, 21*8(sp)
    ld x22, 22*8(sp)
    ld x23, 23*8(sp)
    ld x24, 24*8(sp)
    ld x25, 25*8(sp)
    ld x26, 26*8(sp)
    ld x27, 27*8(sp)
    ld x28, 28*8(sp)
    ld x29, 29*8(sp)
    ld x30, 30*8(sp)
    ld x31, 31*8(sp)
    ld x2, 2*8(sp)
    mret

unexpected_trap:
    ld gp, 3*8(sp)            // the case that was running
    j fail

nested_trap:
    li gp, 251
    j fail

// A hook (SET_TRAP_HOOK) that resumes after the trapping instruction, in the trapping mode.
// mepc must be readable at the same address from M-mode (bare or identity-mapped code).
    .global trap_hook_skip
trap_hook_skip:
    lhu t0, 0(a1)
    andi t0, t0, 3
    li t1, 3
    addi a1, a1, 2            // a 16-bit instruction unless its low bits are 11
    bne t0, t1, 1f
    addi a1, a1, 2
1:  csrw mepc, a1
    li a0, 1
    ret

// --- S-mode trap handler ------------------------------------------------------------------
// Records the trap and hands control back to M-mode with an ecall (mcause 9), which ends
// the running RUN_IN. Clobbers t5 and t6 of the interrupted code, which never resumes.
    .align 2
    .global strap_vector
strap_vector:
    csrr t6, scause
    sd t6, strap_scause, t5
    csrr t6, sepc
    sd t6, strap_sepc, t5
    csrr t6, stval
    sd t6, strap_stval, t5
    csrr t6, sstatus
    sd t6, strap_sstatus, t5
    ld t6, strap_count
    addi t6, t6, 1
    sd t6, strap_count, t5
    ecall

// --- HTIF mailbox ---------------------------------------------------------------------------
    .section .tohost, "aw", @progbits
    .align 6
    .global tohost
    .type tohost, @object
    .size tohost, 8           // QEMU's HTIF insists on 8-byte symbols
tohost: .dword 0
    .align 6
    .global fromhost
    .type fromhost, @object
    .size fromhost, 8
fromhost: .dword 0

// --- runtime data -----------------------------------------------------------------------------
    .data
    .align 3
    .global trap_mcause, trap_mepc, trap_mtval, trap_mstatus, trap_count, trap_resume, trap_hook
    .global strap_scause, strap_sepc, strap_stval, strap_sstatus, strap_count
trap_mcause: .dword 0
trap_mepc: .dword 0
trap_mtval: .dword 0
trap_mstatus: .dword 0
trap_count: .dword 0
trap_resume: .dword 0
trap_hook: .dword 0
trap_depth: .dword 0
strap_scause: .dword 0
strap_sepc: .dword 0
strap_stval: .dword 0
strap_sstatus: .dword 0
strap_count: .dword 0

    .bss
    .align 12
stack: .space 8192
    .global stack_top
stack_top:
trap_stack: .space 4096
trap_stack_top:
