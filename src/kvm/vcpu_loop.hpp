// run_vcpu: the loop around KVM_RUN. Port I/O and MMIO exits go to the machine's VcpuIo (which
// dispatches to its buses); everything else ends the loop as a lifecycle exit, a value.
//
// Thread: the vCPU's thread. `io` may be called concurrently from several vCPU threads; the
// implementation serialises device access.
#pragma once

#include <atomic>
#include <cstdint>
#include <span>
#include <string>

#include "base/result.hpp"
#include "kvm/kvm_vcpu.hpp"

namespace trapeze::kvm {

// A debug exit as VcpuIo::debug_exit gets it: KVM_EXIT_DEBUG's kvm_debug_exit_arch (§5), or
// one the loop makes up where the PVM flavour of KVM behaves otherwise (see vcpu_loop.cpp).
struct DebugExit {
    uint32_t exception = 0;  // 1: #DB (single step, a debug register), 3: #BP (int3)
    uint64_t pc = 0;         // linear address: of the int3 (#BP), of the next instruction (#DB traps)
    uint64_t dr6 = 0;        // #DB: B0-B3 (bits 0-3) the debug register that hit, BS (bit 14) single step
    // #BP that KVM's instruction emulator could not run (PVM): unlike after a #BP exit,
    // KVM_GUESTDBG_INJECT_BP would not move rip past the int3, so whoever gives the #BP back to
    // the guest moves it first.
    bool emulated_int3 = false;
};

// What a vCPU's I/O exits are handed to. Reads fill `data` (1, 2, 4 or 8 bytes, little-endian).
class VcpuIo {
public:
    virtual void pio_read(uint16_t port, std::span<uint8_t> data) = 0;
    virtual void pio_write(uint16_t port, std::span<const uint8_t> data) = 0;
    virtual void mmio_read(uint64_t gpa, std::span<uint8_t> data) = 0;
    virtual void mmio_write(uint64_t gpa, std::span<const uint8_t> data) = 0;
    // Before every KVM_RUN, `stop` not yet looked at: where the machine holds the vCPU to its
    // CPU quota (it may sleep here, and must return soon once `stop` is set).
    virtual void before_run() {}
    // After a KVM_RUN that returned EINTR (a signal, or kvm_run.immediate_exit): KVM completed
    // the previous I/O exit before returning, so the vCPU's state is whole and consistent here
    // (KVM API doc §5, the note on KVM_EXIT_IO/MMIO completion): where a machine parks a vCPU
    // it pauses for a snapshot. Also where immediate_exit is cleared, if the machine wants it.
    virtual void interrupted(KvmVcpu&) {}
    // KVM_EXIT_DEBUG (§5): a debug event that guest debugging (KvmVcpu::set_guest_debug) asked
    // for: single step, an int3, a debug-register hit. Where a machine stops the vCPU for its
    // debugger; the loop enters KVM_RUN again when this returns.
    virtual void debug_exit(KvmVcpu&, const DebugExit&) {}

protected:
    ~VcpuIo() = default;
};

enum class VcpuExitKind : uint8_t {
    Stopped,        // stop was set (another vCPU or the machine ended the VM)
    Halted,         // HLT (only without the in-kernel LAPIC, or with interrupts disabled)
    Shutdown,       // KVM_EXIT_SHUTDOWN: triple fault
    InternalError,  // KVM_EXIT_INTERNAL_ERROR, e.g. an instruction KVM cannot emulate
    FailEntry,      // KVM_EXIT_FAIL_ENTRY: invalid guest state
    SystemEvent,    // KVM_EXIT_SYSTEM_EVENT (shutdown/reset requested through KVM)
    Unhandled,      // any other exit reason
};

struct VcpuExit {
    VcpuExitKind kind;
    std::string detail;  // human-readable: exit reason numbers, suberror, rip
};

const char* to_string(VcpuExitKind kind);

// Runs until a lifecycle exit or until `stop` is seen (checked after every exit and on EINTR).
// Ordering: `stop` is read with acquire, pairing with the release store of whoever sets it
// after recording why the VM stops.
Result<VcpuExit> run_vcpu(KvmVcpu& vcpu, VcpuIo& io, const std::atomic<bool>& stop);

}  // namespace trapeze::kvm
