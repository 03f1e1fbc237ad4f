#include "arch/x86_64/cpuid.hpp"

namespace trapeze::x86 {
namespace {

constexpr uint32_t kLeaf1EcxMonitor = 1u << 3;      // MONITOR/MWAIT: not offered to guests
constexpr uint32_t kLeaf1EcxHypervisor = 1u << 31;  // "running under a hypervisor"
constexpr uint32_t kLeaf1EdxHtt = 1u << 28;         // EBX[23:16] is valid

void fill_leaf1(kvm_cpuid_entry2& e, const CpuidOptions& opts) {
    // EBX[31:24] initial APIC ID, EBX[23:16] addressable logical processors, EBX[15:8] CLFLUSH
    // line size in 8-byte units (kept from the host).
    e.ebx = (e.ebx & 0x0000ffffu) | (opts.apic_id << 24) | ((opts.cpu_count & 0xffu) << 16);
    e.ecx = (e.ecx & ~kLeaf1EcxMonitor) | kLeaf1EcxHypervisor;
    if (opts.cpu_count > 1)
        e.edx |= kLeaf1EdxHtt;
}

}  // namespace

std::vector<kvm_cpuid_entry2> filter_cpuid(std::vector<kvm_cpuid_entry2> entries, const CpuidOptions& opts) {
    for (auto& e : entries) {
        switch (e.function) {
        case 1: fill_leaf1(e, opts); break;
        case 0xb:
        case 0x1f:
            e.edx = opts.apic_id;  // x2APIC ID of this logical processor
            break;
        case 5: e.eax = e.ebx = e.ecx = e.edx = 0; break;  // MONITOR/MWAIT leaf, hidden with the feature
        default: break;
        }
    }
    return entries;
}

}  // namespace trapeze::x86
