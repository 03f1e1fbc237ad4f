// start_smp.S — entry of smp_stress.elf: every hart runs smp_main(hartid, fdt) in M-mode on a
// stack of its own (kStackSize below the previous hart's, room for SMP_MAX_HARTS harts; those
// with a higher ID park). smp_main ends the machine itself (smp_finish: HTIF tohost, then the
// SiFive test finisher for machines without HTIF); a hart that returns from it parks.
#define SMP_MAX_HARTS 8
#define SMP_STACK_SHIFT 14  // 16 KiB per hart

    .section .text.init, "ax", @progbits
    .global _start
_start:
    csrr t0, mhartid
    li t1, SMP_MAX_HARTS
    bgeu t0, t1, park
    la t1, trap
    csrw mtvec, t1
    la sp, stacks_top
    slli t1, t0, SMP_STACK_SHIFT
    sub sp, sp, t1
    mv a0, t0
    call smp_main
park:
    wfi
    j park

// Any trap is a bug of this program or of the machine: smp_trap reports it (never returns).
    .align 2
trap:
    csrr a0, mcause
    csrr a1, mepc
    csrr a2, mtval
    csrr a3, mhartid
    call smp_trap
    j park

    .section .tohost, "aw", @progbits
    .align 6
    .global tohost
tohost: .dword 0
    .align 6
    .global fromhost
fromhost: .dword 0

    .bss
    .align 4
    .space (SMP_MAX_HARTS << SMP_STACK_SHIFT)
stacks_top:
