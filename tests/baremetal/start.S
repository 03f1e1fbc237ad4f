// start.S — entry of the hostile bare-metal guests: hart 0 gets a stack and runs main()
// in M-mode; the others park. main's return value is reported through HTIF tohost
// (0 passes, n fails case n), as trapeze's ISA tests do.
    .section .text.init, "ax", @progbits
    .global _start
_start:
    csrr t0, mhartid
    bnez t0, park
    la t0, trap
    csrw mtvec, t0
    la sp, stack_top
    call main
report:
    slli a0, a0, 1
    ori a0, a0, 1
    la t0, tohost
1:  sd a0, 0(t0)
    j 1b
park:
    wfi
    j park

// Any trap is a bug of this program: report it as case 64 + mcause.
    .align 2
trap:
    csrr a0, mcause
    addi a0, a0, 64
    j report

    .section .tohost, "aw", @progbits
    .align 6
    .global tohost
tohost: .dword 0
    .align 6
    .global fromhost
fromhost: .dword 0

    .bss
    .align 4
    .space 16384
stack_top:
