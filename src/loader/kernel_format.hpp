// What a kernel file is, told from its first bytes: the one place that knows the magics of the
// formats trapeze boots (ELF, Linux's RISC-V Image, Linux's x86 bzImage), for the boards that
// refuse a kernel of the other architecture and for the API's choice of board.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace trapeze::loader {

enum class KernelFormat {
    Elf,         // e_machine says for what
    RiscvImage,  // Linux's RISC-V Image (Documentation/arch/riscv/boot-image-header.rst)
    BzImage,     // Linux's x86 boot protocol (Documentation/arch/x86/boot.rst)
    Raw,         // none of these: a raw binary (U-Boot's u-boot.bin, say)
};

struct KernelKind {
    KernelFormat format = KernelFormat::Raw;
    uint16_t elf_machine = 0;  // for Elf: e_machine (EM_RISCV, EM_X86_64, ...)
};

// The file's first bytes that tell every format apart (a shorter file: all of it).
inline constexpr size_t kKernelHeadBytes = 0x206;

KernelKind identify_kernel(std::span<const uint8_t> head);

// An ELF e_machine by name where it is a machine a kernel given to the wrong board is likely
// built for ("x86-64", "RISC-V", "AArch64", "i386"), else "machine N": a number tells an
// operator nothing.
std::string elf_machine_name(uint16_t machine);

}  // namespace trapeze::loader
