// A replay under gdb (trapeze run --replay LOG --gdb ADDRESS): its steps and its running
// backwards. The harts of a replay take turns in a schedule that the recording fixed, so a step
// of one hart runs the others' turns that come first (all-stop: gdb shows them having moved),
// and running backwards is running forwards from an earlier checkpoint (Rewinder) to the
// position wanted: just before the thread's last instruction (bs), or the last breakpoint or
// watchpoint hit before now (bc: the stretch from the checkpoint is run twice, once to find the
// hits, once to stop at the last), going to earlier checkpoints while a stretch has none.
#include <poll.h>

#include <algorithm>

#include <spdlog/spdlog.h>

#include "gdb/riscv_target.hpp"

namespace trapeze::gdb {

namespace {

PointType point_of(const rv64::DebugEvent& e) {
    if (e.kind == rv64::DebugEvent::Kind::Breakpoint) return PointType::Software;
    return e.watch == rv64::WatchKind::Write ? PointType::Write : e.watch == rv64::WatchKind::Read ? PointType::Read
                                                                                                  : PointType::Access;
}

}  // namespace

// Paused: the machine runs until the goal (or a stop gdb must hear of), then is paused again.
std::optional<StopReason> RiscvTarget::travel(const machine::RiscvMachine::TravelGoal& goal) {
    m_machine.set_travel(goal);
    release();
    for (;;) {
        pollfd p{m_stop_fd.get(), POLLIN, 0};
        if (::poll(&p, 1, -1) > 0) break;
    }
    uint64_t count = 0;
    [[maybe_unused]] const auto n = ::read(m_stop_fd.get(), &count, sizeof count);
    hold();
    m_machine.set_travel({});
    return debug_stop();
}

StopReason RiscvTarget::history_stop(unsigned thread, StopReason::History where) {
    StopReason r{StopReason::Kind::Signal, thread, 5};
    r.history = where;
    return r;
}

// The thread retires one instruction more, in the schedule's order.
StopReason RiscvTarget::step_in_schedule(unsigned thread) {
    const uint64_t done = m_machine.hart_icount(thread);
    auto stop = travel({std::nullopt, std::pair{thread, done + 1}, false});
    return stop ? *stop : StopReason{StopReason::Kind::Signal, thread, 5};
}

// From the latest checkpoint at or before `position`, forward to it (points noted and stepped
// over on the way, not stopped at), by way of the rewinder's waypoint.
StopReason RiscvTarget::go_to(uint64_t position, unsigned thread) {
    if (auto r = m_rewinder->rewind_before(position); !r) {
        spdlog::error("gdb: cannot go back to instruction {}: {}", position, r.error().message);
        return StopReason{StopReason::Kind::Signal, thread, 5};
    }
    if (const auto w = m_rewinder->waypoint(position); w && *w > m_machine.icount() && *w < position) {
        (void)travel({*w, std::nullopt, true});
        m_rewinder->arrived();
    }
    (void)travel({position, std::nullopt, true});
    (void)m_machine.take_scan_hits();
    m_rewinder->arrived();
    return StopReason{StopReason::Kind::Signal, thread, 5};
}

StopReason RiscvTarget::reverse_step(unsigned thread) {
    const auto& history = m_machine.history();
    const auto last = std::find_if(history.rbegin(), history.rend(), [thread](const auto& s) { return s.hart == thread; });
    if (last == history.rend() || last->end - 1 < m_rewinder->history_begin())
        return history_stop(thread, StopReason::History::Begin);
    return go_to(last->end - 1, thread);
}

// Stretch by stretch backwards, [checkpoint, end): the last hit in the latest stretch that has
// one, else the start of the history.
StopReason RiscvTarget::reverse_continue() {
    uint64_t end = m_machine.icount();
    const uint64_t begin = m_rewinder->history_begin();
    while (end > begin) {
        if (auto r = m_rewinder->rewind_before(end - 1); !r) {
            spdlog::error("gdb: reverse continue: {}", r.error().message);
            return StopReason{StopReason::Kind::Signal, 0, 5};
        }
        const uint64_t from = m_machine.icount();
        (void)travel({end, std::nullopt, true});
        const auto hits = m_machine.take_scan_hits();
        if (!hits.empty()) {
            const auto& hit = hits.back();
            (void)go_to(hit.position, hit.hart);
            StopReason r{hit.event.kind == rv64::DebugEvent::Kind::Watch ? StopReason::Kind::Watch
                                                                          : StopReason::Kind::Breakpoint,
                         hit.hart, 5};
            r.point = point_of(hit.event);
            r.data_address = hit.event.addr;
            return r;
        }
        end = from;
    }
    (void)go_to(begin, 0);
    return history_stop(0, StopReason::History::Begin);
}

}  // namespace trapeze::gdb
