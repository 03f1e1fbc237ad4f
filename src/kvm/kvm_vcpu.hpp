// KvmVcpu: one virtual CPU (KVM API doc §4.7 KVM_CREATE_VCPU) and its mapped kvm_run area
// (§5 "The kvm_run structure"), both released by the destructor.
//
// Thread: the vCPU's own thread calls everything except request_exit(), which any thread may
// call to make the vCPU leave KVM_RUN (see there).
#pragma once

#include <linux/kvm.h>

#include <cstddef>
#include <cstdint>
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

    // One KVM_RUN. Returns true when the guest exited (run_area().exit_reason says why) and
    // false when the call was interrupted by a signal or request_exit() (EINTR).
    Result<bool> run();

    // Makes the next or current KVM_RUN return: sets kvm_run.immediate_exit (checked on entry,
    // §5 "immediate_exit") — the caller then signals the vCPU thread to interrupt a KVM_RUN that
    // already started. Ordering: relaxed is enough, the signal delivery orders the store.
    void request_exit() { __atomic_store_n(&m_run.get()->immediate_exit, 1, __ATOMIC_RELAXED); }

private:
    KvmVcpu(UniqueFd fd, RunMapping run, uint32_t id) : m_fd(std::move(fd)), m_run(std::move(run)), m_id(id) {}

    UniqueFd m_fd;
    RunMapping m_run;
    uint32_t m_id;
};

}  // namespace trapeze::kvm
