// CPUID for a vCPU: what KVM supports (KVM_GET_SUPPORTED_CPUID), filtered to what this VMM
// models, with the per-CPU topology fields filled in (Intel SDM Vol. 2A, CPUID).
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <vector>

namespace trapeze::x86 {

struct CpuidOptions {
    uint32_t apic_id = 0;
    uint32_t cpu_count = 1;
};

std::vector<kvm_cpuid_entry2> filter_cpuid(std::vector<kvm_cpuid_entry2> supported, const CpuidOptions& opts);

}  // namespace trapeze::x86
