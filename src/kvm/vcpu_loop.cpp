#include "kvm/vcpu_loop.hpp"

#include <fmt/format.h>

#include <utility>

namespace trapeze::kvm {
namespace {

// KVM API doc §5, KVM_EXIT_IO: `count` accesses of `size` bytes at data_offset in kvm_run
// (count > 1 for rep ins/outs).
void handle_io(kvm_run& run, VcpuIo& io) {
    auto* base = reinterpret_cast<uint8_t*>(&run) + run.io.data_offset;
    for (uint32_t i = 0; i < run.io.count; ++i) {
        std::span<uint8_t> data(base + i * run.io.size, run.io.size);
        if (run.io.direction == KVM_EXIT_IO_OUT)
            io.pio_write(run.io.port, data);
        else
            io.pio_read(run.io.port, data);
    }
}

// KVM_EXIT_MMIO: one access of len <= 8 bytes; for a read KVM completes the instruction with
// `data` on the next KVM_RUN.
void handle_mmio(kvm_run& run, VcpuIo& io) {
    std::span<uint8_t> data(run.mmio.data, run.mmio.len);
    if (run.mmio.is_write != 0)
        io.mmio_write(run.mmio.phys_addr, data);
    else
        io.mmio_read(run.mmio.phys_addr, data);
}

std::string rip_of(const KvmVcpu& vcpu) {
    auto regs = vcpu.get_regs();
    return regs.ok() ? fmt::format("rip {:#x}", regs->rip) : std::string("rip unknown");
}

VcpuExit internal_error(const KvmVcpu& vcpu, const kvm_run& run) {
    std::string detail = fmt::format("KVM internal error, suberror {}", run.internal.suberror);
    for (uint32_t i = 0; i < run.internal.ndata && i < 16; ++i)
        detail += fmt::format(" {:#x}", run.internal.data[i]);
    return {VcpuExitKind::InternalError, detail + ", " + rip_of(vcpu)};
}

// Guest debugging (KVM API doc §4.87, §5 KVM_EXIT_DEBUG), with two behaviours of the PVM
// flavour of KVM made to look like what the API doc describes:
// * A single step whose instruction exits to userspace (port I/O, MMIO) does not stop when the
//   instruction completes: the next KVM_RUN runs one more instruction before its #DB. So after
//   such an exit the next KVM_RUN only completes the instruction (immediate_exit, looked at
//   after the completion, §5 "immediate_exit") and the loop reports the step itself.
// * An int3 in code KVM's instruction emulator runs ends in KVM_EXIT_INTERNAL_ERROR (emulation
//   failure, rip still at the int3) instead of a #BP exit. With KVM_GUESTDBG_USE_SW_BP on, the
//   loop reports the #BP exit KVM makes elsewhere; the debugger decides whose int3 it is.
constexpr uint64_t kDr6Fixed = 0xffff0ff0;  // DR6's bits that read as 1 (SDM Vol. 3B §18.2.3)
constexpr uint64_t kDr6Bs = uint64_t{1} << 14;  // single step

constexpr uint32_t kDebugVector = 1;       // #DB
constexpr uint32_t kBreakpointVector = 3;  // #BP

// KVM_EXIT_DEBUG's dr7 is left out: PVM does not fill it in.
DebugExit debug_exit_of(const kvm_debug_exit_arch& arch) { return {arch.exception, arch.pc, arch.dr6}; }

DebugExit synthetic_debug_exit(const KvmVcpu& vcpu, uint32_t exception) {
    DebugExit exit{exception};
    auto regs = vcpu.get_regs();
    auto sregs = vcpu.get_sregs();
    if (regs.ok() && sregs.ok()) exit.pc = sregs->cs.base + regs->rip;  // linear, as KVM's are
    if (exception == kDebugVector) exit.dr6 = kDr6Fixed | kDr6Bs;
    exit.emulated_int3 = exception == kBreakpointVector;
    return exit;
}

// After an I/O exit: true if the vCPU is single-stepping, and then its next KVM_RUN only
// completes the instruction.
bool end_step_at_completion(KvmVcpu& vcpu) {
    if ((vcpu.guest_debug() & KVM_GUESTDBG_SINGLESTEP) == 0) return false;
    vcpu.request_exit();
    return true;
}

bool is_int3_emulation_failure(const KvmVcpu& vcpu, const kvm_run& run) {
    const auto& failure = run.emulation_failure;
    return (vcpu.guest_debug() & KVM_GUESTDBG_USE_SW_BP) != 0 && failure.suberror == KVM_INTERNAL_ERROR_EMULATION &&
           (failure.flags & KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES) != 0 && failure.insn_size >= 1 &&
           failure.insn_bytes[0] == 0xcc;
}

}  // namespace

const char* to_string(VcpuExitKind kind) {
    switch (kind) {
    case VcpuExitKind::Stopped: return "stopped";
    case VcpuExitKind::Halted: return "halted";
    case VcpuExitKind::Shutdown: return "triple fault";
    case VcpuExitKind::InternalError: return "internal error";
    case VcpuExitKind::FailEntry: return "entry failed";
    case VcpuExitKind::SystemEvent: return "system event";
    case VcpuExitKind::Unhandled: return "unhandled exit";
    }
    return "?";
}

Result<VcpuExit> run_vcpu(KvmVcpu& vcpu, VcpuIo& io, const std::atomic<bool>& stop) {
    kvm_run& run = vcpu.run_area();
    bool step_in_io = false;  // a single step's instruction is in an I/O exit (see above)
    for (;;) {
        io.before_run();
        if (stop.load(std::memory_order_acquire)) return VcpuExit{VcpuExitKind::Stopped, {}};
        auto entered = vcpu.run();
        if (!entered.ok()) return entered.error();
        if (!*entered) {  // EINTR: re-check stop
            if (std::exchange(step_in_io, false))
                io.debug_exit(vcpu, synthetic_debug_exit(vcpu, kDebugVector));
            else
                io.interrupted(vcpu);
            continue;
        }
        step_in_io = false;
        switch (run.exit_reason) {
        case KVM_EXIT_IO:
            handle_io(run, io);
            step_in_io = end_step_at_completion(vcpu);
            break;
        case KVM_EXIT_MMIO:
            handle_mmio(run, io);
            step_in_io = end_step_at_completion(vcpu);
            break;
        case KVM_EXIT_DEBUG: io.debug_exit(vcpu, debug_exit_of(run.debug.arch)); break;
        case KVM_EXIT_HLT: return VcpuExit{VcpuExitKind::Halted, rip_of(vcpu)};
        case KVM_EXIT_SHUTDOWN: return VcpuExit{VcpuExitKind::Shutdown, rip_of(vcpu)};
        case KVM_EXIT_INTERNAL_ERROR:
            if (!is_int3_emulation_failure(vcpu, run)) return internal_error(vcpu, run);
            io.debug_exit(vcpu, synthetic_debug_exit(vcpu, kBreakpointVector));
            break;
        case KVM_EXIT_FAIL_ENTRY:
            return VcpuExit{VcpuExitKind::FailEntry,
                            fmt::format("hardware reason {:#x}", run.fail_entry.hardware_entry_failure_reason)};
        case KVM_EXIT_SYSTEM_EVENT:
            return VcpuExit{VcpuExitKind::SystemEvent, fmt::format("type {}", run.system_event.type)};
        case KVM_EXIT_INTR: break;
        default:
            return VcpuExit{VcpuExitKind::Unhandled, fmt::format("exit reason {}, {}", run.exit_reason, rip_of(vcpu))};
        }
    }
}

}  // namespace trapeze::kvm
