#include "kvm/vcpu_loop.hpp"

#include <fmt/format.h>

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
    for (;;) {
        io.before_run();
        if (stop.load(std::memory_order_acquire)) return VcpuExit{VcpuExitKind::Stopped, {}};
        auto entered = vcpu.run();
        if (!entered.ok()) return entered.error();
        if (!*entered) {  // EINTR: re-check stop
            io.interrupted(vcpu);
            continue;
        }
        switch (run.exit_reason) {
        case KVM_EXIT_IO: handle_io(run, io); break;
        case KVM_EXIT_MMIO: handle_mmio(run, io); break;
        case KVM_EXIT_HLT: return VcpuExit{VcpuExitKind::Halted, rip_of(vcpu)};
        case KVM_EXIT_SHUTDOWN: return VcpuExit{VcpuExitKind::Shutdown, rip_of(vcpu)};
        case KVM_EXIT_INTERNAL_ERROR: return internal_error(vcpu, run);
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
