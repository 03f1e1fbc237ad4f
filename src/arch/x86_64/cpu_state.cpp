#include "arch/x86_64/cpu_state.hpp"

namespace trapeze::x86 {
namespace {

constexpr uint64_t kCr0Pe = 1u << 0;
constexpr uint64_t kCr0Et = 1u << 4;

// A flat 4 GiB segment; `type` is the descriptor type field (Intel SDM Vol. 3A §3.4.5.1):
// 0xb = code execute/read accessed, 0x3 = data read/write accessed.
kvm_segment flat_segment(uint16_t selector, uint8_t type, bool long_mode) {
    kvm_segment s{};
    s.base = 0;
    s.limit = 0xffffffff;
    s.selector = selector;
    s.type = type;
    s.present = 1;
    s.dpl = 0;
    s.db = long_mode && type == 0xb ? 0 : 1;  // in a 64-bit code segment L=1 requires D=0
    s.s = 1;
    s.l = long_mode && type == 0xb ? 1 : 0;
    s.g = 1;
    return s;
}

}  // namespace

void set_pvh_entry_state(kvm_sregs& sregs, kvm_regs& regs, uint64_t entry, uint64_t start_info) {
    sregs.cs = flat_segment(0x10, 0xb, false);
    sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = flat_segment(0x18, 0x3, false);
    sregs.cr0 = kCr0Pe | kCr0Et;
    sregs.cr4 = 0;
    sregs.efer = 0;
    regs = kvm_regs{};
    regs.rip = entry;
    regs.rbx = start_info;
    regs.rflags = 2;  // bit 1 reads as 1; IF, TF, VM clear
}

}  // namespace trapeze::x86
