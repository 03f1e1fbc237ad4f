// The x86-64 registers as gdb sees them: our target description and the bytes of each
// register, read from and written to KVM's kvm_regs / kvm_sregs.
//
// Numbering (the description's, so the `g` packet's and p/P's):
//   0-15   rax rbx rcx rdx rsi rdi rbp rsp r8-r15, 16 rip, 17 eflags, 18-23 cs ss ds es fs gs
//   24-39  st0-st7 and the x87 control registers
//   40-41  fs_base gs_base
//   42-47  cr0 cr2 cr3 cr4 cr8 efer
// 0-39 are gdb's feature org.gnu.gdb.i386.core, whose x87 registers gdb insists on for
// i386:x86-64 (i386-tdep.c validates every core register by name). The guests have no
// x87/SSE on this host (PVM), so those read as zero and accept only zero; there is no
// org.gnu.gdb.i386.sse (gdb accepts a description without it). 40-41 are
// org.gnu.gdb.i386.segments (gdb's $fs_base, $gs_base); 42-47 our own feature
// org.trapeze.x86.sys (`p $cr3`, `info registers cr0`; gdb lists them in `info registers`),
// CR0, CR4 and EFER as flags (`[ PE ET PG ]`).
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace trapeze::gdb {

// One vCPU's registers as KVM keeps them (KVM API doc §4.11-§4.14).
struct X86VcpuRegisters {
    kvm_regs regs{};
    kvm_sregs sregs{};
};

class X86Registers {
public:
    static constexpr unsigned kCount = 48;
    static constexpr unsigned kRip = 16;

    // Which KVM state a write changed, to be written back.
    enum class Changed : uint8_t { None, Regs, Sregs };

    static std::string target_xml();
    // `regnum`'s bytes (little-endian, the description's size), or nullopt past the last.
    static std::optional<std::vector<uint8_t>> read(const X86VcpuRegisters& r, unsigned regnum);
    // Stores `bytes` (exactly the register's size) into `r`; nullopt if refused: no such
    // register, a wrong size, a segment selector (a selector alone cannot be loaded, the
    // descriptor comes from the GDT) or an x87 register with a value other than its zero.
    static std::optional<Changed> write(X86VcpuRegisters& r, unsigned regnum, std::span<const uint8_t> bytes);
};

}  // namespace trapeze::gdb
