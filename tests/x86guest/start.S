// Entry of the freestanding x86-64 test guest. The VMM enters pvh_start through the Xen PVH
// ABI (docs/misc/pvh.pandoc): 32-bit protected mode, paging off, %ebx = hvm_start_info.
// We load our own GDT, identity-map the low 4 GiB with 2 MiB pages (user-accessible, so the
// ring-3 loop can run anywhere in the image), enable long mode and call guest_main(start_info).

        .section .note.Xen, "a", @note
        .balign 4
        .long 4                 // namesz: "Xen\0"
        .long 4                 // descsz
        .long 18                // XEN_ELFNOTE_PHYS32_ENTRY
        .asciz "Xen"
        .long pvh_start
        .balign 4

        .section .text.boot, "ax"
        .code32
        .globl pvh_start
pvh_start:
        cli
        movl %ebx, %esi
        lgdt gdt_ptr
        movl %cr4, %eax
        orl $0x20, %eax                 // CR4.PAE
        movl %eax, %cr4
        movl $pml4, %eax
        movl %eax, %cr3
        movl $0xc0000080, %ecx          // IA32_EFER
        rdmsr
        orl $0x101, %eax                // LME | SCE (syscall brings ring 3 back)
        wrmsr
        movl %cr0, %eax
        orl $0x80000001, %eax           // PG | PE
        movl %eax, %cr0
        ljmp $0x08, $start64

        .code64
start64:
        movw $0x10, %ax
        movw %ax, %ds
        movw %ax, %es
        movw %ax, %ss
        movw %ax, %fs
        movw %ax, %gs
        movq $kernel_stack_top, %rsp
        movl %esi, %edi
        call enter_main
1:      hlt
        jmp 1b

// guest_main(start_info) behind instructions of known lengths and effects, which
// tests/unit/kvm/x86_debug_test.cpp breaks on and single-steps (the compiler's guest_main
// changes with every edit).
        .globl enter_main
enter_main:
        movq %rdi, %r10                 // 3 bytes
        subq $0x40, %rsp                // 4 bytes
        addq $0x40, %rsp
        jmp guest_main

// syscall from ring 3 lands here (IA32_LSTAR) in ring 0 on the user stack: switch to the
// kernel stack and continue in C; ring 3 is never resumed.
        .globl syscall_entry
syscall_entry:
        movq $kernel_stack_top, %rsp
        call back_in_ring0              // (rdi, rsi) = what ring 3 passed
2:      hlt
        jmp 2b

// COM1's interrupt (IOAPIC pin 4 -> vector 0x24): save the caller-saved registers, let C
// acknowledge the UART and the local APIC, return.
        .globl uart_irq_entry
uart_irq_entry:
        pushq %rax
        pushq %rcx
        pushq %rdx
        pushq %rsi
        pushq %rdi
        pushq %r8
        pushq %r9
        pushq %r10
        pushq %r11
        call uart_irq               // the stack is 16-byte aligned here (5 + 9 pushes)
        popq %r11
        popq %r10
        popq %r9
        popq %r8
        popq %rdi
        popq %rsi
        popq %rdx
        popq %rcx
        popq %rax
        iretq

// #BP (vector 3, a trap: the saved rip is after the int3): count it and return.
        .globl int3_entry
int3_entry:
        incl g_int3s(%rip)
        iretq

        .section .data
        .balign 16
gdt:
        .quad 0
        .quad 0x00af9a000000ffff        // 0x08 ring-0 code, 64-bit
        .quad 0x00cf92000000ffff        // 0x10 ring-0 data
        .quad 0x00cff2000000ffff        // 0x18 ring-3 data   (selector 0x1b)
        .quad 0x00affa000000ffff        // 0x20 ring-3 code, 64-bit (selector 0x23)
gdt_end:
gdt_ptr:
        .word gdt_end - gdt - 1
        .quad gdt

        .balign 4096
pml4:
        .quad pdpt + 0x7                // present, writable, user
        .fill 511, 8, 0
pdpt:
        .quad pd + 0x0007
        .quad pd + 0x1007
        .quad pd + 0x2007
        .quad pd + 0x3007
        .fill 508, 8, 0
pd:
        .set i, 0
        .rept 2048
        .quad (i << 21) | 0x87          // present, writable, user, 2 MiB page
        .set i, i + 1
        .endr

        .section .bss
        .balign 16
        .space 16384
kernel_stack_top:

        .section .note.GNU-stack, "", @progbits
