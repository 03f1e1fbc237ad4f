// The state KVM keeps for a VM and its vCPUs, read out for a snapshot and written back into a
// new VM on restore, and its encoding in a snapshot section.
//
// Encoding: KVM's own ABI structs (kvm_regs, kvm_sregs, kvm_lapic_state, kvm_irqchip, ...) go
// in as length-prefixed raw bytes, exactly as <linux/kvm.h> lays them out for x86-64 (little-
// endian, stable by the KVM ABI rule of API version 12, §3); the reader checks each length
// against sizeof. The XSAVE area is as long as the host's KVM_CAP_XSAVE2 says. MSRs are a
// count and (u32 index, u64 value) pairs.
//
// Thread: save/restore with the vCPU's thread parked outside KVM_RUN (every vCPU for
// VCPU_EVENTS and the VM state, §4.32).
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <span>
#include <vector>

#include "base/result.hpp"
#include "kvm/kvm_vcpu.hpp"
#include "kvm/kvm_vm.hpp"
#include "snapshot/state_stream.hpp"

namespace trapeze::kvm {

struct VcpuState {
    kvm_mp_state mp_state{};
    kvm_regs regs{};
    kvm_sregs sregs{};
    std::vector<uint8_t> xsave;  // KVM_GET_XSAVE(2); empty on a host without XSAVE (then fpu)
    kvm_fpu fpu{};
    kvm_xcrs xcrs{};  // nr_xcrs 0 without KVM_CAP_XCRS
    kvm_debugregs debugregs{};
    kvm_lapic_state lapic{};
    std::vector<kvm_msr_entry> msrs;  // IA32_TSC_DEADLINE last (restore_vcpu relies on it)
    kvm_vcpu_events events{};
    uint32_t tsc_khz = 0;  // 0: unknown

    void write(snapshot::StateWriter& w) const;
    static VcpuState read(snapshot::StateReader& r);
};

// What the host's KVM offers for the FPU state (§4.4 on the VM fd).
struct VcpuStateCaps {
    size_t xsave_size = 0;  // KVM_CAP_XSAVE2's size, 4096 with KVM_CAP_XSAVE only, 0: KVM_GET_FPU
    bool xcrs = false;      // KVM_CAP_XCRS
    static VcpuStateCaps of(const KvmVm& vm);
};

// Reads every part of the vCPU's state. `msr_indices` is KVM_GET_MSR_INDEX_LIST; the MSRs
// this vCPU cannot read are left out.
Result<VcpuState> save_vcpu(KvmVcpu& vcpu, std::span<const uint32_t> msr_indices, const VcpuStateCaps& caps);
// Writes it into a vCPU created with the same CPUID, in the order KVM needs (see the .cpp).
// Every saved MSR must be accepted.
Result<void> restore_vcpu(KvmVcpu& vcpu, const VcpuState& state, const VcpuStateCaps& caps);

// The in-kernel irqchip (both PICs, the IOAPIC), the PIT and kvmclock.
struct VmState {
    kvm_irqchip pic_master{};
    kvm_irqchip pic_slave{};
    kvm_irqchip ioapic{};
    kvm_pit_state2 pit{};
    kvm_clock_data clock{};

    void write(snapshot::StateWriter& w) const;
    static VmState read(snapshot::StateReader& r);
};

Result<VmState> save_vm(const KvmVm& vm);
Result<void> restore_vm(KvmVm& vm, const VmState& state);

}  // namespace trapeze::kvm
