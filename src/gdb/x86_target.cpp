#include "gdb/x86_target.hpp"

#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <utility>

#include "base/log.hpp"
#include "gdb/x86_monitor.hpp"

namespace trapeze::gdb {
namespace {

constexpr uint8_t kInt3 = 0xcc;
constexpr int kSigTrap = 5;
constexpr int kSigInt = 2;
constexpr uint32_t kDebugVector = 1;       // #DB
constexpr uint32_t kBreakpointVector = 3;  // #BP
// How long a step may take before the vCPU is stopped where it is: an instruction that waits
// (HLT with its interrupt blocked by the step) never ends on its own.
constexpr std::chrono::milliseconds kStepLimit{500};

// DR7 (Intel SDM Vol. 3B §18.2.4): local enable Ln at bit 2n; R/Wn at bits 16+4n (00 execute,
// 01 write, 11 read or write) and LENn at 18+4n (00 1 byte, 01 2, 11 4, 10 8).
uint64_t dr7_bits(unsigned n, PointType type, uint64_t len) {
    const uint64_t rw = type == PointType::Write ? 1 : type == PointType::Access ? 3 : 0;
    const uint64_t size = len == 8 ? 2 : len == 4 ? 3 : len == 2 ? 1 : 0;
    return (uint64_t{1} << (2 * n)) | (rw << (16 + 4 * n)) | (size << (18 + 4 * n));
}

// A watched range as debug-register pieces: naturally aligned, 8 bytes at most (SDM §18.2.5).
std::vector<std::pair<uint64_t, uint64_t>> pieces_of(uint64_t addr, uint64_t len) {
    std::vector<std::pair<uint64_t, uint64_t>> pieces;
    for (uint64_t at = addr, end = addr + len; at < end && pieces.size() <= 4;) {
        uint64_t size = 8;
        while (size > 1 && ((at & (size - 1)) != 0 || end - at < size)) size /= 2;
        pieces.emplace_back(at, size);
        at += size;
    }
    return pieces;
}

StopReason signal_stop(unsigned thread, int signal) {
    return StopReason{StopReason::Kind::Signal, thread, signal};
}

}  // namespace

Result<std::unique_ptr<X86Target>> X86Target::create(X86Machine& m, bool paused, bool data_watchpoints) {
    UniqueFd fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!fd.valid()) return make_error("gdb stub: eventfd: {}", std::strerror(errno));
    std::unique_ptr<X86Target> t(new X86Target(m, std::move(fd), paused, data_watchpoints));
    m.set_debug_listener([target = t.get()] { target->notify_stop(); });
    return t;
}

bool X86Target::host_fires_data_breakpoints() {
    struct stat st {};
    return ::stat("/sys/module/kvm_pvm", &st) != 0;
}

X86Target::X86Target(X86Machine& m, UniqueFd stop_fd, bool paused, bool data_watchpoints)
    : m_machine(m),
      m_stop_fd(std::move(stop_fd)),
      m_holding(paused),
      m_data_watchpoints(data_watchpoints),
      m_registers(m.vcpu_count()),
      m_give_back(m.vcpu_count(), false) {}

X86Target::~X86Target() {
    m_machine.set_debug_listener({});
}

// A vCPU's thread or the one that ended the VM: one write on an eventfd.
void X86Target::notify_stop() {
    const uint64_t one = 1;
    [[maybe_unused]] const auto n = ::write(m_stop_fd.get(), &one, sizeof one);
}

void X86Target::drain_stop_fd() {
    uint64_t count = 0;
    [[maybe_unused]] const auto n = ::read(m_stop_fd.get(), &count, sizeof count);
}

std::optional<std::string> X86Target::feature_document(std::string_view annex) const {
    if (annex != "target.xml") return std::nullopt;
    return X86Registers::target_xml();
}

std::string X86Target::thread_info(unsigned thread) const {
    return x86_vcpu_summary(m_machine, thread);
}

void X86Target::hold() {
    if (m_holding) return;
    m_machine.pause();
    m_holding = true;
}

void X86Target::release() {
    if (!m_holding) return;
    m_holding = false;
    m_machine.resume();
}

std::optional<StopReason> X86Target::exited() const {
    const auto record = m_machine.exit_record();
    if (!record) return std::nullopt;
    StopReason r{StopReason::Kind::Exited};
    r.exit_code = exit_status(record->reason);
    return r;
}

StopReason X86Target::attach() {
    hold();
    if (auto e = exited()) return *e;
    if (auto stop = collect_stops()) return *stop;
    return signal_stop(m_current, kSigTrap);
}

// Leaves the guest running as it was before gdb came: its memory without our int3s, no debug
// register of ours, and an int3 of its own that a vCPU stopped on handed back to it.
void X86Target::detach() {
    hold();
    (void)collect_stops();  // gives back the guest's own int3s; ours are run again, restored
    for (const Breakpoint& bp : m_breakpoints) {
        uint8_t byte = 0;
        if (m_machine.memory().read(bp.gpa, {&byte, 1}) && byte == kInt3)
            (void)m_machine.memory().write(bp.gpa, {&bp.original, 1});
    }
    m_breakpoints.clear();
    m_slots = {};
    m_pending.clear();
    run_all();
}

void X86Target::kill() {
    m_machine.stop();
    release();
}

X86VcpuRegisters* X86Target::registers(unsigned thread) {
    if (thread >= m_registers.size()) return nullptr;
    auto& cached = m_registers[thread];
    if (!cached) {
        auto regs = m_machine.vcpu_regs(thread);
        auto sregs = m_machine.vcpu_sregs(thread);
        if (!regs.ok() || !sregs.ok()) return nullptr;
        cached = X86VcpuRegisters{*regs, *sregs};
    }
    return &*cached;
}

uint64_t X86Target::pc(unsigned thread) {
    const X86VcpuRegisters* r = registers(thread);
    return r != nullptr ? r->sregs.cs.base + r->regs.rip : 0;
}

std::optional<std::vector<uint8_t>> X86Target::read_register(unsigned thread, unsigned regnum) {
    const X86VcpuRegisters* r = registers(thread);
    if (r == nullptr) return std::nullopt;
    return X86Registers::read(*r, regnum);
}

bool X86Target::write_register(unsigned thread, unsigned regnum, std::span<const uint8_t> bytes) {
    X86VcpuRegisters* r = registers(thread);
    if (r == nullptr) return false;
    X86VcpuRegisters changed = *r;
    const auto what = X86Registers::write(changed, regnum, bytes);
    if (!what) return false;
    Result<void> written = ok();
    if (*what == X86Registers::Changed::Regs) written = m_machine.set_vcpu_regs(thread, changed.regs);
    if (*what == X86Registers::Changed::Sregs) written = m_machine.set_vcpu_sregs(thread, changed.sregs);
    if (!written.ok()) {
        spdlog::warn("gdb stub: vCPU {}: {}", thread, written.error().message);
        return false;
    }
    *r = changed;
    return true;
}

std::optional<Gpa> X86Target::locate(unsigned thread, uint64_t addr, bool physical) {
    std::optional<Gpa> gpa = Gpa(addr);
    if (!physical) {
        auto translated = m_machine.translate(thread, Gva(addr));
        if (!translated.ok()) return std::nullopt;
        gpa = *translated;
    }
    if (!gpa || !m_machine.memory().contains(*gpa, 1)) return std::nullopt;
    return gpa;
}

// Page by page (each page translates on its own); RAM only: reading a device register could
// change the device, which gdb's reads must not. Our int3s read as the bytes they replaced.
size_t X86Target::read_memory(unsigned thread, uint64_t addr, std::span<uint8_t> out, bool physical) {
    if (thread >= threads()) return 0;
    size_t done = 0;
    while (done < out.size()) {
        const auto gpa = locate(thread, addr + done, physical);
        if (!gpa) break;
        const auto chunk = out.subspan(done, std::min<size_t>(0x1000 - ((addr + done) & 0xfff), out.size() - done));
        if (!m_machine.memory().read(*gpa, chunk)) break;
        for (const Breakpoint& bp : m_breakpoints)
            if (bp.gpa >= *gpa && bp.gpa.value < gpa->value + chunk.size())
                chunk[bp.gpa.value - gpa->value] = bp.original;
        done += chunk.size();
    }
    return done;
}

// A write over one of our int3s changes the byte it replaced; the int3 stays.
size_t X86Target::write_memory(unsigned thread, uint64_t addr, std::span<const uint8_t> in, bool physical) {
    if (thread >= threads()) return 0;
    size_t done = 0;
    while (done < in.size()) {
        const auto gpa = locate(thread, addr + done, physical);
        if (!gpa) break;
        const auto chunk = in.subspan(done, std::min<size_t>(0x1000 - ((addr + done) & 0xfff), in.size() - done));
        if (!m_machine.memory().write(*gpa, chunk)) break;
        for (Breakpoint& bp : m_breakpoints) {
            if (bp.gpa < *gpa || bp.gpa.value >= gpa->value + chunk.size()) continue;
            bp.original = chunk[bp.gpa.value - gpa->value];
            (void)m_machine.memory().write(bp.gpa, {&kInt3, 1});
        }
        done += chunk.size();
    }
    return done;
}

bool X86Target::supports(PointType type) const {
    switch (type) {
        case PointType::Software:
        case PointType::Hardware:
            return true;
        case PointType::Write:
        case PointType::Access:
            return m_data_watchpoints;
        case PointType::Read:
            return false;  // x86 debug registers watch writes, or reads and writes
    }
    return false;
}

bool X86Target::insert_point(PointType type, uint64_t addr, uint64_t kind) {
    if (!supports(type)) return false;
    if (type == PointType::Software) return insert_breakpoint(addr);
    return insert_slots(type, addr, kind);
}

bool X86Target::remove_point(PointType type, uint64_t addr, uint64_t kind) {
    if (type == PointType::Software) return remove_breakpoint(addr);
    return remove_slots(type, addr, kind);
}

X86Target::Breakpoint* X86Target::breakpoint_at(uint64_t addr) {
    const auto it = std::find_if(m_breakpoints.begin(), m_breakpoints.end(),
                                 [addr](const Breakpoint& bp) { return bp.addr == addr; });
    return it == m_breakpoints.end() ? nullptr : &*it;
}

// The address translates through the thread gdb last stopped in (the kernel's mappings are
// every vCPU's). Two addresses of one physical byte share its int3 and its original.
bool X86Target::insert_breakpoint(uint64_t addr) {
    if (breakpoint_at(addr) != nullptr) return true;  // Z packets are idempotent
    const auto gpa = locate(m_current, addr, false);
    if (!gpa) return false;
    const auto same =
        std::find_if(m_breakpoints.begin(), m_breakpoints.end(), [&](const Breakpoint& bp) { return bp.gpa == *gpa; });
    uint8_t original = 0;
    if (same != m_breakpoints.end())
        original = same->original;
    else if (!m_machine.memory().read(*gpa, {&original, 1}) || !m_machine.memory().write(*gpa, {&kInt3, 1}))
        return false;
    m_breakpoints.push_back({addr, *gpa, original});
    return true;
}

// The original goes back unless the guest replaced our int3 meanwhile (new code loaded there).
bool X86Target::remove_breakpoint(uint64_t addr) {
    const Breakpoint* bp = breakpoint_at(addr);
    if (bp == nullptr) return false;
    const Breakpoint gone = *bp;
    m_breakpoints.erase(m_breakpoints.begin() + (bp - m_breakpoints.data()));
    const bool shared =
        std::any_of(m_breakpoints.begin(), m_breakpoints.end(), [&](const Breakpoint& b) { return b.gpa == gone.gpa; });
    uint8_t byte = 0;
    if (!shared && m_machine.memory().read(gone.gpa, {&byte, 1}) && byte == kInt3)
        (void)m_machine.memory().write(gone.gpa, {&gone.original, 1});
    return true;
}

bool X86Target::insert_slots(PointType type, uint64_t addr, uint64_t kind) {
    const auto same = [&](const std::optional<Slot>& s) {
        return s && s->type == type && s->point_addr == addr && s->point_kind == kind;
    };
    if (std::any_of(m_slots.begin(), m_slots.end(), same)) return true;
    const auto pieces =
        type == PointType::Hardware ? std::vector<std::pair<uint64_t, uint64_t>>{{addr, 1}} : pieces_of(addr, kind);
    const auto free = static_cast<size_t>(std::count(m_slots.begin(), m_slots.end(), std::nullopt));
    if (pieces.empty() || pieces.size() > free) return false;
    size_t next = 0;
    for (auto& slot : m_slots) {
        if (slot || next == pieces.size()) continue;
        slot = Slot{type, pieces[next].first, pieces[next].second, addr, kind};
        ++next;
    }
    return true;
}

bool X86Target::remove_slots(PointType type, uint64_t addr, uint64_t kind) {
    bool removed = false;
    for (auto& slot : m_slots) {
        if (slot && slot->type == type && slot->point_addr == addr && slot->point_kind == kind) {
            slot.reset();
            removed = true;
        }
    }
    return removed;
}

bool X86Target::exec_slot_at(uint64_t addr) const {
    return std::any_of(m_slots.begin(), m_slots.end(), [addr](const std::optional<Slot>& s) {
        return s && s->type == PointType::Hardware && s->addr == addr;
    });
}

// KVM API doc §4.87. debugreg[7] is DR7; an execution breakpoint is a fault (it hits before
// its instruction), so a step from its address leaves it out (RF, which the CPU has for
// that, does not get through PVM).
kvm_guest_debug X86Target::guest_debug(unsigned thread, bool step, bool take_interrupts, uint64_t step_from) const {
    kvm_guest_debug dbg{};
    uint64_t dr7 = 0;
    for (unsigned n = 0; n < m_slots.size(); ++n) {
        const auto& slot = m_slots[n];
        if (!slot || (step && slot->type == PointType::Hardware && slot->addr == step_from)) continue;
        dbg.arch.debugreg[n] = slot->addr;
        dr7 |= dr7_bits(n, slot->type, slot->len);
    }
    dbg.arch.debugreg[7] = dr7;
    uint32_t control = 0;
    if (!m_breakpoints.empty()) control |= KVM_GUESTDBG_USE_SW_BP;
    if (dr7 != 0) control |= KVM_GUESTDBG_USE_HW_BP;
    if (step) control |= KVM_GUESTDBG_SINGLESTEP | (take_interrupts ? 0 : KVM_GUESTDBG_BLOCKIRQ);
    if (m_give_back[thread]) control |= KVM_GUESTDBG_INJECT_BP;
    dbg.control = control != 0 ? control | KVM_GUESTDBG_ENABLE : 0;
    return dbg;
}

// KVM_GUESTDBG_INJECT_BP queues the #BP when set, so it is set once.
bool X86Target::apply_guest_debug(unsigned thread, bool step, bool take_interrupts, uint64_t step_from) {
    kvm_guest_debug dbg = guest_debug(thread, step, take_interrupts, step_from);
    auto applied = m_machine.set_guest_debug(thread, dbg);
    if (!applied.ok() && (dbg.control & KVM_GUESTDBG_BLOCKIRQ) != 0) {  // a KVM older than BLOCKIRQ
        dbg.control &= ~uint32_t{KVM_GUESTDBG_BLOCKIRQ};
        applied = m_machine.set_guest_debug(thread, dbg);
    }
    if (!applied.ok()) {
        spdlog::warn("gdb stub: vCPU {}: {}", thread, applied.error().message);
        return false;
    }
    if ((dbg.control & KVM_GUESTDBG_INJECT_BP) != 0) m_give_back[thread] = false;
    return true;
}

// HLT (F4) at CPL 0 is stepped here, not by KVM: PVM's instruction emulator, stopped by the
// step, keeps the halt pending and halts the vCPU later, wherever it next emulates an
// instruction (a continue after the step halted in the middle of the interrupt handler, for
// good). So a step over HLT ends at once past it, as if an interrupt had woken the vCPU
// (Intel SDM Vol. 2A, HLT: any interrupt resumes execution after it); a pending interrupt is
// taken when the guest runs on, and the guest's idle loops halt again on their next HLT.
std::optional<X86Machine::DebugExit> X86Target::step_hlt(unsigned thread) {
    constexpr uint8_t kHlt = 0xf4;
    constexpr uint64_t kDr6SingleStep = 0xffff4ff0;  // DR6's fixed ones and BS (SDM Vol. 3B §18.2.3)
    X86VcpuRegisters* r = registers(thread);
    const uint64_t from = pc(thread);
    uint8_t opcode = 0;
    if (r == nullptr || (r->sregs.cs.selector & 3) != 0 || read_memory(thread, from, {&opcode, 1}, false) != 1 ||
        opcode != kHlt)
        return std::nullopt;
    kvm_regs regs = r->regs;
    regs.rip += 1;
    if (!m_machine.set_vcpu_regs(thread, regs).ok()) return std::nullopt;
    m_registers[thread].reset();
    return X86Machine::DebugExit{kDebugVector, from + 1, kDr6SingleStep};
}

// One instruction of `thread`, the others parked; an int3 of ours at pc is lifted for it.
std::optional<X86Machine::DebugExit> X86Target::step_raw(unsigned thread, bool take_interrupts) {
    if (auto hlt = step_hlt(thread)) return hlt;
    const uint64_t from = pc(thread);
    const Breakpoint* bp = breakpoint_at(from);
    if (bp != nullptr) (void)m_machine.memory().write(bp->gpa, {&bp->original, 1});
    std::optional<X86Machine::DebugExit> exit;
    if (apply_guest_debug(thread, true, take_interrupts, from)) exit = m_machine.run_alone(thread, kStepLimit);
    if (bp != nullptr) (void)m_machine.memory().write(bp->gpa, {&kInt3, 1});
    (void)apply_guest_debug(thread, false, true, 0);  // vcpu_loop looks at SINGLESTEP after I/O exits
    m_registers[thread].reset();
    return exit;
}

// A guest's own int3 goes back to it: KVM_GUESTDBG_INJECT_BP on its next run, rip first moved
// past the int3 where KVM did not (see kvm::DebugExit::emulated_int3).
void X86Target::give_back_int3(unsigned thread, const X86Machine::DebugExit& exit) {
    if (exit.emulated_int3) {
        if (X86VcpuRegisters* r = registers(thread)) {
            r->regs.rip += 1;
            if (!m_machine.set_vcpu_regs(thread, r->regs).ok()) m_registers[thread].reset();
        }
    }
    m_give_back[thread] = true;
}

// One of our int3s at `addr`, or at the byte it maps to (through another mapping of it).
bool X86Target::our_int3_at(unsigned thread, uint64_t addr) {
    if (breakpoint_at(addr) != nullptr) return true;
    const auto gpa = locate(thread, addr, false);
    return gpa && std::any_of(m_breakpoints.begin(), m_breakpoints.end(),
                              [&](const Breakpoint& bp) { return bp.gpa == *gpa; });
}

// What gdb hears of a debug exit; nullopt for the guest's own int3 (given back).
std::optional<StopReason> X86Target::stop_of(unsigned thread, const X86Machine::DebugExit& exit) {
    StopReason r = signal_stop(thread, kSigTrap);
    if (exit.exception == kBreakpointVector) {
        if (!our_int3_at(thread, exit.pc)) {
            give_back_int3(thread, exit);
            return std::nullopt;
        }
        r.kind = StopReason::Kind::Breakpoint;
        r.point = PointType::Software;
        return r;
    }
    for (unsigned n = 0; exit.exception == kDebugVector && n < m_slots.size(); ++n) {
        if ((exit.dr6 & (uint64_t{1} << n)) == 0 || !m_slots[n]) continue;  // DR6.Bn: DRn's condition
        r.kind = m_slots[n]->type == PointType::Hardware ? StopReason::Kind::Breakpoint : StopReason::Kind::Watch;
        r.point = m_slots[n]->type;
        r.data_address = m_slots[n]->addr;
        return r;
    }
    return r;
}

// The machine is paused. One stop is reported; a watchpoint's vCPU stopped after its
// instruction and would not stop again, so its stop waits for the next resume. A vCPU stopped
// at a breakpoint is still before it, and hits it again when it runs.
std::optional<StopReason> X86Target::collect_stops() {
    const auto exits = m_machine.take_debug_exits();
    std::optional<StopReason> first;
    for (unsigned t = 0; t < exits.size(); ++t) {
        if (!exits[t]) continue;
        const auto stop = stop_of(t, *exits[t]);
        if (!stop) continue;
        if (!first)
            first = stop;
        else if (stop->kind == StopReason::Kind::Watch)
            m_pending.push_back(*stop);
    }
    if (first) m_current = first->thread;
    return first;
}

StopReason X86Target::step(unsigned thread, StepFlags flags) {
    if (thread >= threads()) return signal_stop(m_current, kSigTrap);
    if (auto e = exited()) return *e;
    m_current = thread;
    // At most twice: a guest's own int3 at pc is given back and the step goes on into its handler.
    for (int attempt = 0; attempt < 2; ++attempt) {
        const auto exit = step_raw(thread, flags.take_interrupts);
        if (auto e = exited()) return *e;
        if (!exit) break;
        if (auto stop = stop_of(thread, *exit)) return *stop;
    }
    return signal_stop(thread, kSigTrap);
}

std::optional<std::string> X86Target::monitor(std::string_view command) {
    return x86_monitor(m_machine, command);
}

// Every vCPU with the debug state of a run, then the machine runs.
void X86Target::run_all() {
    for (unsigned t = 0; t < threads(); ++t) (void)apply_guest_debug(t, false, true, 0);
    for (auto& r : m_registers) r.reset();
    release();
}

// The thread gdb continues from one of our breakpoints first runs the instruction there
// (gdb itself steps over its breakpoints, but a client that leaves them in need not).
void X86Target::resume(const ThreadSet&) {
    if (!m_pending.empty()) return notify_stop();  // reported by take_stop(), nothing runs
    drain_stop_fd();
    if (exited()) return notify_stop();
    const uint64_t from = pc(m_current);
    if (breakpoint_at(from) != nullptr || exec_slot_at(from)) {
        const auto exit = step_raw(m_current, false);
        const auto stop = exit ? stop_of(m_current, *exit) : std::nullopt;
        if (exited() || (stop && stop->kind == StopReason::Kind::Watch)) {
            if (stop) m_pending.push_back(*stop);
            return notify_stop();
        }
    }
    run_all();
}

std::optional<StopReason> X86Target::take_stop() {
    drain_stop_fd();
    if (!m_pending.empty()) {
        const StopReason stop = m_pending.front();
        m_pending.pop_front();
        m_current = stop.thread;
        return stop;
    }
    if (auto e = exited()) return e;
    hold();
    if (auto stop = collect_stops()) return stop;
    run_all();  // a wake-up for nothing gdb wants (a guest's own int3, now given back)
    return std::nullopt;
}

// A breakpoint hit racing with the Ctrl-C is reported as the breakpoint.
StopReason X86Target::interrupt() {
    hold();
    if (auto e = exited()) return *e;
    if (auto stop = collect_stops()) return *stop;
    return signal_stop(m_current, kSigInt);
}

}  // namespace trapeze::gdb
