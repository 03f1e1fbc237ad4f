// KvmVcpu: one virtual CPU (KVM API doc §4.7 KVM_CREATE_VCPU) and its mapped kvm_run area
// (§5 "The kvm_run structure"), both released by the destructor.
//
// Thread: the vCPU's own thread calls everything except request_exit(), which any thread may
// call to make the vCPU leave KVM_RUN (see there), and the state accessors, which another
// thread may call while the vCPU's thread is parked outside KVM_RUN (a paused machine).
#pragma once

#include <linux/kvm.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "base/result.hpp"
#include "base/unique_fd.hpp"
#include "kvm/kvm_system.hpp"
#include "kvm/kvm_vm.hpp"

namespace trapeze::kvm {

// The mmap of a vCPU's kvm_run area.
class RunMapping {
public:
    RunMapping() = default;
    RunMapping(kvm_run* run, size_t size) : m_run(run), m_size(size) {}
    RunMapping(RunMapping&& o) noexcept;
    RunMapping& operator=(RunMapping&& o) noexcept;
    RunMapping(const RunMapping&) = delete;
    RunMapping& operator=(const RunMapping&) = delete;
    ~RunMapping();

    kvm_run* get() const { return m_run; }

private:
    kvm_run* m_run = nullptr;
    size_t m_size = 0;
};

class KvmVcpu {
public:
    static Result<KvmVcpu> create(const KvmSystem& sys, const KvmVm& vm, uint32_t id);

    uint32_t id() const { return m_id; }
    kvm_run& run_area() { return *m_run.get(); }

    Result<kvm_regs> get_regs() const;
    Result<void> set_regs(const kvm_regs& regs);
    Result<kvm_sregs> get_sregs() const;
    Result<void> set_sregs(const kvm_sregs& sregs);
    Result<void> set_cpuid(const std::vector<kvm_cpuid_entry2>& entries);
    Result<void> set_msrs(const std::vector<kvm_msr_entry>& msrs);

    // --- state for snapshots (KVM API doc §4.x as noted) ---
    Result<kvm_mp_state> get_mp_state() const;  // §4.38
    Result<void> set_mp_state(const kvm_mp_state& state);
    Result<kvm_fpu> get_fpu() const;  // §4.22
    Result<void> set_fpu(const kvm_fpu& fpu);
    // §4.42 KVM_GET_XSAVE, or §4.134 KVM_GET_XSAVE2 when `size` (KVM_CAP_XSAVE2 on the VM)
    // is more than 4096; KVM_SET_XSAVE reads as many bytes as KVM_GET_XSAVE2 writes (§4.43).
    Result<std::vector<uint8_t>> get_xsave(size_t size) const;
    Result<void> set_xsave(std::span<const uint8_t> xsave);
    Result<kvm_xcrs> get_xcrs() const;  // §4.44
    Result<void> set_xcrs(const kvm_xcrs& xcrs);
    Result<kvm_debugregs> get_debugregs() const;  // §4.33
    Result<void> set_debugregs(const kvm_debugregs& regs);
    Result<kvm_lapic_state> get_lapic() const;  // §4.57
    Result<void> set_lapic(const kvm_lapic_state& lapic);
    Result<kvm_vcpu_events> get_vcpu_events() const;  // §4.31
    Result<void> set_vcpu_events(const kvm_vcpu_events& events);
    // §4.18: reads the MSRs named by `msrs[i].index` in order and returns how many it read:
    // KVM stops at the first one it cannot read.
    Result<size_t> get_msrs(std::vector<kvm_msr_entry>& msrs) const;
    // §4.19: how many of `msrs` KVM set, in order, before the first it refused.
    Result<size_t> set_msrs_counted(std::span<const kvm_msr_entry> msrs);
    Result<uint32_t> get_tsc_khz() const;    // §4.56
    Result<void> set_tsc_khz(uint32_t khz);  // §4.55, KVM_CAP_TSC_CONTROL

    // --- guest debugging (gdb stub) ---
    // §4.87 KVM_SET_GUEST_DEBUG: which debug events make KVM_RUN return KVM_EXIT_DEBUG
    // (single step, int3, the debug registers in `dbg.arch.debugreg`); control 0 turns it off.
    Result<void> set_guest_debug(const kvm_guest_debug& dbg);
    // The control word of the last successful set_guest_debug (KVM_GUESTDBG_*), 0 if none.
    uint32_t guest_debug() const { return m_guest_debug; }

    // One KVM_RUN. Returns true when the guest exited (run_area().exit_reason says why) and
    // false when the call was interrupted by a signal or request_exit() (EINTR).
    Result<bool> run();

    // Makes the next or current KVM_RUN return: sets kvm_run.immediate_exit (checked on entry,
    // §5 "immediate_exit") — the caller then signals the vCPU thread to interrupt a KVM_RUN that
    // already started. Ordering: relaxed is enough, the signal delivery orders the store.
    void request_exit() { __atomic_store_n(&m_run.get()->immediate_exit, 1, __ATOMIC_RELAXED); }
    // Undoes request_exit(): the caller makes sure no exit request it must honour is lost.
    void clear_exit_request() { __atomic_store_n(&m_run.get()->immediate_exit, 0, __ATOMIC_RELAXED); }
    bool exit_requested() const { return __atomic_load_n(&m_run.get()->immediate_exit, __ATOMIC_RELAXED) != 0; }

private:
    KvmVcpu(UniqueFd fd, RunMapping run, uint32_t id) : m_fd(std::move(fd)), m_run(std::move(run)), m_id(id) {}

    UniqueFd m_fd;
    RunMapping m_run;
    uint32_t m_id;
    uint32_t m_guest_debug = 0;
};

}  // namespace trapeze::kvm
