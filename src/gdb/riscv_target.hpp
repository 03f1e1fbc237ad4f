// RiscvTarget: the gdb stub's view of a RiscvMachine, under either engine. One gdb thread per
// hart; gdb has control while the machine is paused (RiscvMachine::pause, which nests with the
// API's pauses); breakpoints and watchpoints are the machine's rv64::DebugPoints; a step is
// one instruction through the interpreter's semantics (rv64::interp::step_instruction). A
// resume of some threads holds the other harts (RiscvMachine::hold_harts), except in a
// recording or replay, whose schedule decides which hart runs.
//
// Thread: the session's thread, except notify_stop() (a hart's thread: through the machine's
// on_stop) and machine_ended() (the thread that ran the machine), which only signal stop_fd().
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <set>
#include <utility>

#include "base/result.hpp"
#include "base/unique_fd.hpp"
#include "gdb/riscv_registers.hpp"
#include "gdb/target.hpp"
#include "machine/riscv_machine.hpp"

namespace trapeze::gdb {

// What the target of a replay needs to run backwards (vmm::TimeTravel): the machine put back at
// an earlier position, from where it runs forward to the one gdb asked for (riscv_reverse.cpp).
class Rewinder {
public:
    virtual ~Rewinder() = default;
    // Paused: the machine as at its latest checkpoint at or before `position`.
    virtual Result<void> rewind_before(uint64_t position) = 0;
    // The earliest position the machine can be rewound to (the replay's start).
    virtual uint64_t history_begin() const = 0;
    // After rewind_before(target): where to stop on the way to `target` and call arrived(), so
    // that the next step back, which goes to just before `target`, starts from near it.
    virtual std::optional<uint64_t> waypoint(uint64_t /*target*/) const { return std::nullopt; }
    // Paused, after a travel that began with a rewind: a checkpoint may be kept here, so that
    // going back a little again does not start from far away.
    virtual void arrived() {}
};

class RiscvTarget final : public DebugTarget {
public:
    // At most this many breakpoint addresses and watchpoints at once (insert_point).
    static constexpr size_t kMaxBreakpoints = 65536;
    static constexpr size_t kMaxWatchpoints = 256;
    // Enables the machine's debugger (before run()). `paused`: the machine was paused before
    // run() for gdb (--gdb-wait), and that pause is this target's to resume.
    static Result<std::unique_ptr<RiscvTarget>> create(machine::RiscvMachine& m, bool paused);

    // The machine's run() returned (with this exit code): a gdb waiting for a stop is told.
    void machine_ended(int exit_code);

    unsigned threads() const override { return m_machine.hart_count(); }
    std::optional<std::string> feature_document(std::string_view annex) const override;
    unsigned g_register_count() const override { return RiscvRegisters::kGRegisters; }
    std::string thread_info(unsigned thread) const override;

    StopReason attach() override;
    void detach() override;
    void kill() override;

    std::optional<std::vector<uint8_t>> read_register(unsigned thread, unsigned regnum) override;
    bool write_register(unsigned thread, unsigned regnum, std::span<const uint8_t> bytes) override;
    size_t read_memory(unsigned thread, uint64_t addr, std::span<uint8_t> out, bool physical) override;
    size_t write_memory(unsigned thread, uint64_t addr, std::span<const uint8_t> in, bool physical) override;
    bool supports(PointType) const override { return true; }
    bool insert_point(PointType type, uint64_t addr, uint64_t kind) override;
    bool remove_point(PointType type, uint64_t addr, uint64_t kind) override;
    StopReason step(unsigned thread, StepFlags flags) override;
    std::optional<std::string> monitor(std::string_view command) override;

    void resume(const ThreadSet& run) override;
    int stop_fd() const override { return m_stop_fd.get(); }
    std::optional<StopReason> take_stop() override;
    StopReason interrupt() override;

    // A replay's machine (with inputs): gdb's steps keep to the harts' schedule, and with a
    // rewinder the target runs backwards too. Before gdb connects.
    void set_replay(Rewinder* rewinder) {
        m_replay = true;
        m_rewinder = rewinder;
    }
    bool can_reverse() const override { return m_rewinder != nullptr; }
    StopReason reverse_step(unsigned thread) override;
    StopReason reverse_continue() override;

private:
    RiscvTarget(machine::RiscvMachine& m, UniqueFd stop_fd, bool paused);
    void notify_stop();
    void hold();     // pause the machine, if this target does not hold a pause yet
    void release();  // resume it, if this target holds a pause
    std::optional<StopReason> debug_stop();
    // riscv_reverse.cpp: the machine run (from where it is) until `goal`, paused again after.
    std::optional<StopReason> travel(const machine::RiscvMachine::TravelGoal& goal);
    StopReason go_to(uint64_t position, unsigned thread);
    StopReason history_stop(unsigned thread, StopReason::History where);
    StopReason step_in_schedule(unsigned thread);
    // The guest-physical address of `addr` as `thread` sees it (or addr itself when
    // `physical`), and how many bytes from there to the end of its page.
    bool locate(unsigned thread, uint64_t addr, bool physical, uint64_t& pa, size_t& room);
    template <typename Copy>
    size_t each_page(unsigned thread, uint64_t addr, size_t len, bool physical, Copy&& copy);

    machine::RiscvMachine& m_machine;
    RiscvRegisters m_registers;
    UniqueFd m_stop_fd;  // eventfd
    bool m_holding;      // this target holds one of the machine's pauses
    unsigned m_running_thread = 0;  // a thread the last resume ran: a Ctrl-C's stop names it
    std::atomic<bool> m_ended{false};
    std::atomic<int> m_exit_code{0};
    // Inserted points: Z0 and Z1 at one address, or one point inserted twice, are one
    // DebugPoints entry that goes when the last of them is removed (gdb's Z/z are idempotent).
    bool has_breakpoint_at(uint64_t addr) const;
    std::set<std::pair<PointType, uint64_t>> m_breakpoints;
    bool m_replay = false;
    Rewinder* m_rewinder = nullptr;  // not owned
};

}  // namespace trapeze::gdb
