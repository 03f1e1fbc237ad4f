#include "gdb/riscv_target.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "gdb/riscv_monitor.hpp"

namespace trapeze::gdb {

namespace {

rv64::WatchKind watch_kind(PointType t) {
    return t == PointType::Write ? rv64::WatchKind::Write
           : t == PointType::Read ? rv64::WatchKind::Read
                                  : rv64::WatchKind::Access;
}

PointType point_type(rv64::WatchKind k) {
    return k == rv64::WatchKind::Write ? PointType::Write : k == rv64::WatchKind::Read ? PointType::Read : PointType::Access;
}

bool is_breakpoint(PointType t) { return t == PointType::Software || t == PointType::Hardware; }

}  // namespace

Result<std::unique_ptr<RiscvTarget>> RiscvTarget::create(machine::RiscvMachine& m, bool paused) {
    UniqueFd fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!fd.valid()) return make_error("gdb stub: eventfd: {}", std::strerror(errno));
    std::unique_ptr<RiscvTarget> t(new RiscvTarget(m, std::move(fd), paused));
    m.enable_debugger([target = t.get()] { target->notify_stop(); });
    return t;
}

RiscvTarget::RiscvTarget(machine::RiscvMachine& m, UniqueFd stop_fd, bool paused)
    : m_machine(m), m_registers(m.hart(0)), m_stop_fd(std::move(stop_fd)), m_holding(paused) {}

// A hart's thread: one write on an eventfd (what a hart's seccomp filter allows).
void RiscvTarget::notify_stop() {
    const uint64_t one = 1;
    [[maybe_unused]] const auto n = ::write(m_stop_fd.get(), &one, sizeof one);
}

void RiscvTarget::machine_ended(int exit_code) {
    m_exit_code.store(exit_code, std::memory_order_relaxed);
    m_ended.store(true, std::memory_order_release);
    notify_stop();
}

std::optional<std::string> RiscvTarget::feature_document(std::string_view annex) const {
    if (annex != "target.xml") return std::nullopt;
    return m_registers.target_xml();
}

std::string RiscvTarget::thread_info(unsigned thread) const {
    const rv64::Hart& h = m_machine.hart(thread);
    return fmt::format("hart {}, {}-mode{}", thread, priv_name(h.s.priv), h.s.wfi ? ", waiting in WFI" : "");
}

void RiscvTarget::hold() {
    if (m_holding) return;
    m_machine.pause();
    m_holding = true;
}

void RiscvTarget::release() {
    if (!m_holding) return;
    m_holding = false;
    m_machine.resume();
}

StopReason RiscvTarget::attach() {
    hold();
    m_machine.set_debugger_attached(true);
    if (auto stop = debug_stop()) return *stop;
    return StopReason{StopReason::Kind::Signal, 0, 5};
}

// Leaves the guest running, as it was before gdb came: no point left, no stop pending.
void RiscvTarget::detach() {
    hold();
    m_breakpoints.clear();
    m_machine.debug_points().clear();
    (void)m_machine.take_debug_stop();
    m_machine.set_debugger_attached(false);
    m_machine.hold_harts({});
    release();
}

void RiscvTarget::kill() {
    m_machine.end_from_debugger();
    release();
}

std::optional<std::vector<uint8_t>> RiscvTarget::read_register(unsigned thread, unsigned regnum) {
    const auto v = m_registers.read(m_machine.hart(thread), regnum);
    if (!v) return std::nullopt;
    std::vector<uint8_t> bytes(m_registers.all()[regnum].bits / 8);
    for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(*v >> (8 * i));
    return bytes;
}

bool RiscvTarget::write_register(unsigned thread, unsigned regnum, std::span<const uint8_t> bytes) {
    if (regnum >= m_registers.all().size() || bytes.size() != m_registers.all()[regnum].bits / 8) return false;
    uint64_t v = 0;
    for (size_t i = 0; i < bytes.size(); ++i) v |= static_cast<uint64_t>(bytes[i]) << (8 * i);
    return m_registers.write(m_machine.hart(thread), regnum, v);
}

bool RiscvTarget::locate(unsigned thread, uint64_t addr, bool physical, uint64_t& pa, size_t& room) {
    room = static_cast<size_t>(0x1000 - (addr & 0xfff));
    if (physical) {
        pa = addr;
    } else if (!m_machine.hart(thread).debug_translate(addr, pa)) {
        return false;
    }
    return m_machine.memory().contains(Gpa(pa), 1);
}

// Page by page (each page translates on its own); RAM only: a device register read could
// change the device (a UART's receive FIFO), which gdb's reads must not. `copy(pa, offset, n)`
// moves n bytes at guest-physical pa; returns how many bytes from the start were moved.
template <typename Copy>
size_t RiscvTarget::each_page(unsigned thread, uint64_t addr, size_t len, bool physical, Copy&& copy) {
    size_t done = 0;
    while (done < len) {
        uint64_t pa = 0;
        size_t room = 0;
        if (!locate(thread, addr + done, physical, pa, room)) break;
        const size_t n = std::min(room, len - done);
        if (!copy(pa, done, n)) break;
        done += n;
    }
    return done;
}

size_t RiscvTarget::read_memory(unsigned thread, uint64_t addr, std::span<uint8_t> out, bool physical) {
    return each_page(thread, addr, out.size(), physical, [&](uint64_t pa, size_t at, size_t n) {
        return m_machine.memory().read(Gpa(pa), out.subspan(at, n));
    });
}

// Through GuestMemory::write, which drops decoded code there (a write into code, as gdb's
// `set` on an instruction does, takes effect at once) and marks the pages dirty.
size_t RiscvTarget::write_memory(unsigned thread, uint64_t addr, std::span<const uint8_t> in, bool physical) {
    return each_page(thread, addr, in.size(), physical, [&](uint64_t pa, size_t at, size_t n) {
        return m_machine.memory().write(Gpa(pa), in.subspan(at, n));
    });
}

// Z0 or Z1 at addr, whichever gdb set.
bool RiscvTarget::has_breakpoint_at(uint64_t addr) const {
    return m_breakpoints.count({PointType::Software, addr}) != 0 || m_breakpoints.count({PointType::Hardware, addr}) != 0;
}

// An emulator's breakpoints cost nothing in guest memory, so Z1 is Z0 (as in QEMU); both
// are virtual addresses compared with the pc (see rv64::DebugPoints). Their number is bounded
// (kMaxBreakpoints, kMaxWatchpoints: a client's Z packets cannot grow the stub without bound,
// and every watched access compares each watchpoint); past it a Z is answered with an error.
bool RiscvTarget::insert_point(PointType type, uint64_t addr, uint64_t kind) {
    if (is_breakpoint(type)) {
        if ((addr & 1) != 0) return false;
        const bool first = !has_breakpoint_at(addr);
        if (first && m_machine.debug_points().breakpoints() >= kMaxBreakpoints) return false;
        m_breakpoints.insert({type, addr});
        if (first) m_machine.debug_points().add_breakpoint(addr);
        return true;
    }
    if (kind == 0 || m_machine.debug_points().watchpoints() >= kMaxWatchpoints) return false;
    m_machine.debug_points().add_watchpoint(rv64::Watchpoint{addr, kind, watch_kind(type)});
    return true;
}

// Only what gdb set, by the type, address (and length) it set it with.
bool RiscvTarget::remove_point(PointType type, uint64_t addr, uint64_t kind) {
    if (is_breakpoint(type)) {
        if (m_breakpoints.erase({type, addr}) == 0) return false;
        const bool last = !has_breakpoint_at(addr);
        if (last) m_machine.debug_points().remove_breakpoint(addr);
        return true;
    }
    return m_machine.debug_points().remove_watchpoint(rv64::Watchpoint{addr, kind, watch_kind(type)});
}

StopReason RiscvTarget::step(unsigned thread, StepFlags flags) {
    if (m_replay) return step_in_schedule(thread);
    const auto hit = m_machine.step_hart(thread, flags.take_interrupts);
    if (!hit) return StopReason{StopReason::Kind::Signal, thread, 5};
    StopReason r{StopReason::Kind::Watch, thread, 5};
    r.point = point_type(hit->watch);
    r.data_address = hit->addr;
    return r;
}

std::optional<std::string> RiscvTarget::monitor(std::string_view command) {
    return riscv_monitor(m_machine, command);
}

void RiscvTarget::resume(const ThreadSet& run) {
    const auto first = std::find(run.begin(), run.end(), true);
    m_running_thread = first == run.end() ? 0 : static_cast<unsigned>(first - run.begin());
    std::vector<bool> held(run.size());
    std::transform(run.begin(), run.end(), held.begin(), [](bool r) { return !r; });
    m_machine.hold_harts(std::move(held));  // no effect in a replay, which keeps to its schedule
    release();
}

// The machine is paused first, so what take_debug_stop() reads is complete.
std::optional<StopReason> RiscvTarget::debug_stop() {
    const auto stop = m_machine.take_debug_stop();
    if (!stop) return std::nullopt;
    if (stop->arrived) {
        StopReason r{StopReason::Kind::Signal, stop->hart, 5};
        if (stop->history_end) r.history = StopReason::History::End;
        return r;
    }
    StopReason r{StopReason::Kind::Breakpoint, stop->hart, 5};
    if (stop->event.kind == rv64::DebugEvent::Kind::Watch) {
        r.kind = StopReason::Kind::Watch;
        r.point = point_type(stop->event.watch);
        r.data_address = stop->event.addr;
    }
    return r;
}

std::optional<StopReason> RiscvTarget::take_stop() {
    uint64_t count = 0;
    [[maybe_unused]] const auto n = ::read(m_stop_fd.get(), &count, sizeof count);
    if (m_ended.load(std::memory_order_acquire)) {
        StopReason r{StopReason::Kind::Exited};
        r.exit_code = m_exit_code.load(std::memory_order_relaxed);
        return r;
    }
    hold();
    if (auto stop = debug_stop()) return stop;
    release();  // a stop gdb already took (an interrupt raced with it): keep running
    return std::nullopt;
}

// A breakpoint hit racing with the Ctrl-C is reported as the breakpoint.
StopReason RiscvTarget::interrupt() {
    hold();
    if (auto stop = debug_stop()) return *stop;
    return StopReason{StopReason::Kind::Signal, m_running_thread, 2};
}

}  // namespace trapeze::gdb
