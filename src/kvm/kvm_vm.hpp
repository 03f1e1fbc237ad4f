// KvmVm: one KVM virtual machine (KVM API doc §4.2 KVM_CREATE_VM) with the x86 in-kernel
// interrupt controllers (PIC + IOAPIC + local APICs, §4.24 KVM_CREATE_IRQCHIP) and the in-kernel
// PIT (§4.100 KVM_CREATE_PIT2), so the timer and interrupt delivery never leave the kernel.
//
// Thread: set_irq_line() may be called from any thread (KVM serialises it); everything else
// from the thread building the machine, before the vCPUs run, or with every vCPU paused (the
// state accessors a snapshot uses).
#pragma once

#include <linux/kvm.h>

#include <cstdint>

#include "base/result.hpp"
#include "base/unique_fd.hpp"
#include "kvm/kvm_system.hpp"
#include "memory/address.hpp"

namespace trapeze::kvm {

class KvmVm {
public:
    // Where KVM may put the three pages of the real-mode TSS and the identity-map page it needs
    // on Intel hosts (§4.43, §4.47): just below the 4 GiB BIOS area, outside RAM and MMIO.
    static constexpr uint64_t kTssAddr = 0xfffbd000;
    static constexpr uint64_t kIdentityMapAddr = 0xfffbc000;

    static Result<KvmVm> create(const KvmSystem& sys);

    int fd() const { return m_fd.get(); }
    // §4.35 KVM_SET_USER_MEMORY_REGION: guest-physical [gpa, gpa+size) is backed by `host`.
    // log_dirty: KVM keeps a bitmap of the pages the vCPUs write (KVM_MEM_LOG_DIRTY_PAGES,
    // API doc §4.35), read and cleared by dirty_log().
    Result<void> map_memory(uint32_t slot, Gpa gpa, uint64_t size, void* host, bool log_dirty = false);
    // KVM_GET_DIRTY_LOG (§4.8): the slot's pages written since the last call (bit i of word i/64
    // = page i), cleared. The slot must have been mapped with log_dirty.
    Result<std::vector<uint64_t>> dirty_log(uint32_t slot, uint64_t pages) const;
    // §4.25 KVM_IRQ_LINE: drive GSI `gsi` of the in-kernel PIC/IOAPIC to `level`.
    Result<void> set_irq_line(uint32_t gsi, bool level);
    // §4.59 KVM_IOEVENTFD: a guest MMIO write of `len` bytes with value `datamatch` at `gpa`
    // signals eventfd `fd` inside the kernel and the vCPU continues without exiting to us.
    // Registered for the VM's lifetime.
    Result<void> add_mmio_ioeventfd(int fd, Gpa gpa, uint32_t len, uint64_t datamatch);
    // KVM_CHECK_EXTENSION on the VM (§4.4): 0 if unsupported, else a capability-specific value.
    int check_extension(long cap) const;

    // The in-kernel devices' state, for snapshots. `chip` is KVM_IRQCHIP_PIC_MASTER, _SLAVE or
    // _IOAPIC (§4.26, §4.27); the PIT (§4.72, §4.73); kvmclock (§4.29, §4.30).
    Result<kvm_irqchip> get_irqchip(uint32_t chip) const;
    Result<void> set_irqchip(const kvm_irqchip& state);
    Result<kvm_pit_state2> get_pit2() const;
    Result<void> set_pit2(const kvm_pit_state2& state);
    Result<kvm_clock_data> get_clock() const;
    Result<void> set_clock(const kvm_clock_data& clock);

private:
    explicit KvmVm(UniqueFd fd) : m_fd(std::move(fd)) {}

    UniqueFd m_fd;
};

}  // namespace trapeze::kvm
