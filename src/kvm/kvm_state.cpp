#include "kvm/kvm_state.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "base/log.hpp"

namespace trapeze::kvm {
namespace {

constexpr uint32_t kVcpuFormat = 1;
constexpr uint32_t kVmFormat = 1;
constexpr uint32_t kMsrIa32Tsc = 0x10;
constexpr uint32_t kMsrIa32TscDeadline = 0x6e0;
constexpr uint32_t kApicLvtTimer = 0x320;  // LAPIC register offset (Intel SDM Vol. 3A §11.5.1)
constexpr size_t kMsrChunk = 128;          // KVM refuses 256 or more per KVM_GET/SET_MSRS
constexpr uint32_t kMaxMsrs = 4096;
constexpr size_t kMaxXsaveBytes = 1u << 20;  // AMX tiles make it 11 KiB today

template <typename T>
void put_abi(snapshot::StateWriter& w, const T& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    w.bytes({reinterpret_cast<const uint8_t*>(&v), sizeof v});
}

// A KVM struct written by put_abi: its length must be this build's sizeof.
template <typename T>
T get_abi(snapshot::StateReader& r, const char* name) {
    T v{};
    const auto b = r.bytes(sizeof v);
    if (r.failed()) return v;
    if (b.size() != sizeof v) {
        r.fail(fmt::format("{} is {} bytes, expected {}", name, b.size(), sizeof v));
        return v;
    }
    std::memcpy(&v, b.data(), sizeof v);
    return v;
}

void check_format(snapshot::StateReader& r, uint32_t expected, const char* what) {
    const uint32_t format = r.u32();
    if (!r.failed() && format != expected)
        r.fail(fmt::format("{} state format {}, this build reads {}", what, format, expected));
}

// KVM_GET_MSRS stops at the first MSR it cannot read (§4.18): that one is dropped (the index
// list names MSRs of features this vCPU's CPUID may not have) and reading goes on after it.
Result<std::vector<kvm_msr_entry>> read_msrs(KvmVcpu& vcpu, std::span<const uint32_t> indices) {
    std::vector<kvm_msr_entry> out;
    size_t next = 0;
    while (next < indices.size()) {
        std::vector<kvm_msr_entry> chunk(std::min(kMsrChunk, indices.size() - next));
        for (size_t i = 0; i < chunk.size(); ++i) chunk[i].index = indices[next + i];
        TRAPEZE_TRY_ASSIGN(got, vcpu.get_msrs(chunk));
        out.insert(out.end(), chunk.begin(), chunk.begin() + static_cast<ptrdiff_t>(got));
        next += got;
        if (got < chunk.size()) {
            spdlog::debug("vCPU {}: MSR {:#x} does not read back, not saved", vcpu.id(), indices[next]);
            ++next;
        }
    }
    return out;
}

uint32_t lapic_reg(const kvm_lapic_state& lapic, uint32_t offset) {
    uint32_t v = 0;
    std::memcpy(&v, lapic.regs + offset, sizeof v);
    return v;
}

// IA32_TSC_DEADLINE goes last: writing it arms the LAPIC timer against the guest TSC, so the
// TSC must already hold its saved value. A deadline of 0 with the timer unmasked in TSC-deadline
// mode may be a deadline that expired while the timer interrupt was still pending inside KVM,
// where no ioctl sees it; it becomes "now", so that interrupt is not lost (Firecracker saw
// exactly this). At worst the guest takes one early timer interrupt, which clock event code
// handles as spurious.
void order_msrs(std::vector<kvm_msr_entry>& msrs, const kvm_lapic_state& lapic) {
    auto deadline =
        std::find_if(msrs.begin(), msrs.end(), [](const auto& m) { return m.index == kMsrIa32TscDeadline; });
    if (deadline == msrs.end()) return;
    const auto tsc = std::find_if(msrs.begin(), msrs.end(), [](const auto& m) { return m.index == kMsrIa32Tsc; });
    const uint32_t lvt = lapic_reg(lapic, kApicLvtTimer);
    const bool deadline_mode = ((lvt >> 17) & 3) == 2 && (lvt & (1u << 16)) == 0;
    if (deadline->data == 0 && deadline_mode && tsc != msrs.end()) deadline->data = tsc->data;
    std::rotate(deadline, deadline + 1, msrs.end());
}

Result<void> write_msrs(KvmVcpu& vcpu, std::span<const kvm_msr_entry> msrs) {
    for (size_t at = 0; at < msrs.size();) {
        const auto chunk = msrs.subspan(at, std::min(kMsrChunk, msrs.size() - at));
        TRAPEZE_TRY_ASSIGN(set, vcpu.set_msrs_counted(chunk));
        if (set < chunk.size())
            return make_error("KVM_SET_MSRS: MSR {:#x} (value {:#x}) refused, {} of {} MSRs set", chunk[set].index,
                              chunk[set].data, at + set, msrs.size());
        at += set;
    }
    return ok();
}

// Firecracker's and QEMU's tolerance: TSC calibration differs by that much between boots.
bool tsc_differs(uint32_t a, uint32_t b) {
    const uint64_t diff = a > b ? a - b : b - a;
    return diff * 1'000'000 > uint64_t{b} * 250;
}

Result<void> restore_tsc_khz(KvmVcpu& vcpu, uint32_t saved) {
    if (saved == 0) return ok();
    TRAPEZE_TRY_ASSIGN(now, vcpu.get_tsc_khz());
    if (!tsc_differs(now, saved)) return ok();
    // Without TSC scaling (KVM_CAP_TSC_CONTROL) the guest sees its TSC run at the host's rate;
    // a kvmclock guest rescales, one calibrated on the TSC drifts. Still better than no restore.
    if (auto set = vcpu.set_tsc_khz(saved); !set)
        spdlog::warn("vCPU {}: TSC was {} kHz when the snapshot was taken, is {} kHz here and cannot be scaled ({})",
                     vcpu.id(), saved, now, set.error().message);
    return ok();
}

}  // namespace

VcpuStateCaps VcpuStateCaps::of(const KvmVm& vm) {
    VcpuStateCaps caps;
    const int xsave2 = vm.check_extension(KVM_CAP_XSAVE2);
    caps.xsave_size = xsave2 > 0 ? static_cast<size_t>(xsave2) : vm.check_extension(KVM_CAP_XSAVE) > 0 ? 4096 : 0;
    caps.xcrs = vm.check_extension(KVM_CAP_XCRS) > 0;
    return caps;
}

void VcpuState::write(snapshot::StateWriter& w) const {
    w.u32(kVcpuFormat);
    put_abi(w, mp_state);
    put_abi(w, regs);
    put_abi(w, sregs);
    w.bytes(xsave);
    put_abi(w, fpu);
    put_abi(w, xcrs);
    put_abi(w, debugregs);
    put_abi(w, lapic);
    w.u32(static_cast<uint32_t>(msrs.size()));
    for (const auto& m : msrs) {
        w.u32(m.index);
        w.u64(m.data);
    }
    put_abi(w, events);
    w.u32(tsc_khz);
}

VcpuState VcpuState::read(snapshot::StateReader& r) {
    VcpuState s;
    check_format(r, kVcpuFormat, "vCPU");
    s.mp_state = get_abi<kvm_mp_state>(r, "kvm_mp_state");
    s.regs = get_abi<kvm_regs>(r, "kvm_regs");
    s.sregs = get_abi<kvm_sregs>(r, "kvm_sregs");
    s.xsave = r.bytes(kMaxXsaveBytes);
    if (!r.failed() && !s.xsave.empty() && s.xsave.size() < 4096)
        r.fail(fmt::format("the XSAVE area is {} bytes, less than 4096", s.xsave.size()));
    s.fpu = get_abi<kvm_fpu>(r, "kvm_fpu");
    s.xcrs = get_abi<kvm_xcrs>(r, "kvm_xcrs");
    if (s.xcrs.nr_xcrs > KVM_MAX_XCRS) r.fail(fmt::format("{} XCRs", s.xcrs.nr_xcrs));
    s.debugregs = get_abi<kvm_debugregs>(r, "kvm_debugregs");
    s.lapic = get_abi<kvm_lapic_state>(r, "kvm_lapic_state");
    const uint32_t n = r.count(kMaxMsrs, 12);
    for (uint32_t i = 0; i < n; ++i) {
        kvm_msr_entry m{};
        m.index = r.u32();
        m.data = r.u64();
        s.msrs.push_back(m);
    }
    s.events = get_abi<kvm_vcpu_events>(r, "kvm_vcpu_events");
    s.tsc_khz = r.u32();
    return s;
}

// Order (Firecracker's vcpu.rs save_state): MP_STATE first, since reading it makes KVM accept
// pending INIT/SIPI events, which changes the rest; VCPU_EVENTS last, as the other reads may
// still move pending events (§4.31).
Result<VcpuState> save_vcpu(KvmVcpu& vcpu, std::span<const uint32_t> msr_indices, const VcpuStateCaps& caps) {
    VcpuState s;
    TRAPEZE_TRY_ASSIGN(mp, vcpu.get_mp_state());
    s.mp_state = mp;
    TRAPEZE_TRY_ASSIGN(regs, vcpu.get_regs());
    s.regs = regs;
    TRAPEZE_TRY_ASSIGN(sregs, vcpu.get_sregs());
    s.sregs = sregs;
    if (caps.xsave_size > 0) {
        TRAPEZE_TRY_ASSIGN(xsave, vcpu.get_xsave(caps.xsave_size));
        s.xsave = std::move(xsave);
    } else {
        TRAPEZE_TRY_ASSIGN(fpu, vcpu.get_fpu());
        s.fpu = fpu;
    }
    if (caps.xcrs) {
        TRAPEZE_TRY_ASSIGN(xcrs, vcpu.get_xcrs());
        s.xcrs = xcrs;
    }
    TRAPEZE_TRY_ASSIGN(debugregs, vcpu.get_debugregs());
    s.debugregs = debugregs;
    TRAPEZE_TRY_ASSIGN(lapic, vcpu.get_lapic());
    s.lapic = lapic;
    auto khz = vcpu.get_tsc_khz();
    s.tsc_khz = khz ? *khz : 0;  // restored then without a frequency check
    TRAPEZE_TRY_ASSIGN(msrs, read_msrs(vcpu, msr_indices));
    s.msrs = std::move(msrs);
    order_msrs(s.msrs, s.lapic);
    TRAPEZE_TRY_ASSIGN(events, vcpu.get_vcpu_events());
    s.events = events;
    return s;
}

// Order (Firecracker's vcpu.rs restore_state, from KVM's behaviour): TSC rate before anything
// reads the TSC; SET_REGS clears pending exceptions, so SET_VCPU_EVENTS comes after it;
// SET_SREGS sets the APIC base MSR, so SET_LAPIC comes after it; IA32_TSC_DEADLINE only arms
// with the LAPIC configured, so SET_MSRS comes after SET_LAPIC.
Result<void> restore_vcpu(KvmVcpu& vcpu, const VcpuState& s, const VcpuStateCaps& caps) {
    TRAPEZE_TRY(restore_tsc_khz(vcpu, s.tsc_khz));
    TRAPEZE_TRY(vcpu.set_mp_state(s.mp_state));
    TRAPEZE_TRY(vcpu.set_regs(s.regs));
    TRAPEZE_TRY(vcpu.set_sregs(s.sregs));
    if (!s.xsave.empty()) {
        if (caps.xsave_size == 0) return make_error("the snapshot has an XSAVE area, and this host's KVM has no XSAVE");
        // KVM_SET_XSAVE copies as many bytes as this host's KVM_GET_XSAVE2 fills (§4.43).
        std::vector<uint8_t> area(std::max(s.xsave.size(), caps.xsave_size), 0);
        std::copy(s.xsave.begin(), s.xsave.end(), area.begin());
        TRAPEZE_TRY(vcpu.set_xsave(area));
    } else {
        TRAPEZE_TRY(vcpu.set_fpu(s.fpu));
    }
    if (s.xcrs.nr_xcrs > 0) {
        if (!caps.xcrs) return make_error("the snapshot has XCRs, and this host's KVM has no KVM_CAP_XCRS");
        TRAPEZE_TRY(vcpu.set_xcrs(s.xcrs));
    }
    TRAPEZE_TRY(vcpu.set_debugregs(s.debugregs));
    TRAPEZE_TRY(vcpu.set_lapic(s.lapic));
    TRAPEZE_TRY(write_msrs(vcpu, s.msrs));
    // KVM leaves nmi.pending and sipi_vector alone unless told to take them (§4.32).
    kvm_vcpu_events events = s.events;
    events.flags |= KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SIPI_VECTOR;
    return vcpu.set_vcpu_events(events);
}

void VmState::write(snapshot::StateWriter& w) const {
    w.u32(kVmFormat);
    put_abi(w, pic_master);
    put_abi(w, pic_slave);
    put_abi(w, ioapic);
    put_abi(w, pit);
    put_abi(w, clock);
}

VmState VmState::read(snapshot::StateReader& r) {
    VmState s;
    check_format(r, kVmFormat, "VM");
    s.pic_master = get_abi<kvm_irqchip>(r, "PIC master");
    s.pic_slave = get_abi<kvm_irqchip>(r, "PIC slave");
    s.ioapic = get_abi<kvm_irqchip>(r, "IOAPIC");
    const bool chips_ok = s.pic_master.chip_id == KVM_IRQCHIP_PIC_MASTER &&
                          s.pic_slave.chip_id == KVM_IRQCHIP_PIC_SLAVE && s.ioapic.chip_id == KVM_IRQCHIP_IOAPIC;
    if (!r.failed() && !chips_ok) r.fail("irqchip ids out of order");
    s.pit = get_abi<kvm_pit_state2>(r, "kvm_pit_state2");
    s.clock = get_abi<kvm_clock_data>(r, "kvm_clock_data");
    return s;
}

Result<VmState> save_vm(const KvmVm& vm) {
    VmState s;
    TRAPEZE_TRY_ASSIGN(master, vm.get_irqchip(KVM_IRQCHIP_PIC_MASTER));
    TRAPEZE_TRY_ASSIGN(slave, vm.get_irqchip(KVM_IRQCHIP_PIC_SLAVE));
    TRAPEZE_TRY_ASSIGN(ioapic, vm.get_irqchip(KVM_IRQCHIP_IOAPIC));
    TRAPEZE_TRY_ASSIGN(pit, vm.get_pit2());
    TRAPEZE_TRY_ASSIGN(clock, vm.get_clock());
    s.pic_master = master;
    s.pic_slave = slave;
    s.ioapic = ioapic;
    s.pit = pit;
    s.clock = clock;
    return s;
}

Result<void> restore_vm(KvmVm& vm, const VmState& s) {
    TRAPEZE_TRY(vm.set_pit2(s.pit));
    // kvmclock resumes from the saved value: guest time does not include the time spent as a
    // snapshot, like the TSC (IA32_TSC is restored with the MSRs). Only KVM_CLOCK_REALTIME means
    // anything to SET_CLOCK (§4.30), and it would add the elapsed time: left out.
    kvm_clock_data clock{};
    clock.clock = s.clock.clock;
    TRAPEZE_TRY(vm.set_clock(clock));
    TRAPEZE_TRY(std::move(vm.set_irqchip(s.pic_master)).context("PIC master"));
    TRAPEZE_TRY(std::move(vm.set_irqchip(s.pic_slave)).context("PIC slave"));
    return std::move(vm.set_irqchip(s.ioapic)).context("IOAPIC");
}

}  // namespace trapeze::kvm
