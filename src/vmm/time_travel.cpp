#include "vmm/time_travel.hpp"

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "vmm/restore.hpp"

namespace trapeze::vmm {

Result<std::unique_ptr<TimeTravel>> TimeTravel::create(machine::RiscvMachine& m, replay::Replayer& r,
                                                       const std::string& log_path, std::optional<uint64_t> from) {
    std::string dir = std::filesystem::temp_directory_path() / "trapeze-travel-XXXXXX";
    if (::mkdtemp(dir.data()) == nullptr) return make_error("time travel: mkdtemp '{}': {}", dir, std::strerror(errno));
    std::unique_ptr<TimeTravel> t(new TimeTravel(m, r, dir));
    TRAPEZE_TRY(std::move(t->save_here()).context("time travel: a checkpoint of the replay's start"));
    t->m_checkpoints.front().recording_index = from;  // seeking it again puts the replay where it starts
    TRAPEZE_TRY_ASSIGN(recorded, replay::Replayer::checkpoints(log_path));
    const std::filesystem::path folder = std::filesystem::path(log_path).parent_path();
    for (uint64_t i = 0; i < recorded.size(); ++i) {
        if (recorded[i].icount <= t->history_begin()) continue;
        machine::RiscvMachine::LoopState loop{recorded[i].icount, {}, true, {}};
        t->m_checkpoints.push_back(Checkpoint{recorded[i].icount, (folder / recorded[i].name).string(), loop, i, {}});
    }
    return t;
}

TimeTravel::TimeTravel(machine::RiscvMachine& m, replay::Replayer& r, std::string dir)
    : m_machine(m), m_replayer(r), m_dir(std::move(dir)) {}

// Each file by name, then the folder: the VMM thread's sandbox allows unlink and rmdir, not a
// directory walk.
TimeTravel::~TimeTravel() {
    for (const std::string& state : m_own) {
        ::unlink(state.c_str());
        ::unlink(default_memory_path(state).c_str());
    }
    ::rmdir(m_dir.c_str());
}

// The machine paused where it stands (or not yet run): a snapshot, the loop's place and the
// replay's, kept in order of position.
Result<void> TimeTravel::save_here() {
    const uint64_t position = m_machine.icount();
    const std::string state = fmt::format("{}/at-{}", m_dir, position);
    m_own.push_back(state);
    TRAPEZE_TRY(m_machine.save_snapshot_in_loop({state, default_memory_path(state), machine::SnapshotKind::Full}));
    Checkpoint c{position, state, m_machine.loop_state(), std::nullopt, m_replayer.mark()};
    const auto at = std::upper_bound(m_checkpoints.begin(), m_checkpoints.end(), position,
                                     [](uint64_t p, const Checkpoint& k) { return p < k.position; });
    m_checkpoints.insert(at, std::move(c));
    return ok();
}

Result<void> TimeTravel::rewind_before(uint64_t position) {
    auto it = std::upper_bound(m_checkpoints.begin(), m_checkpoints.end(), position,
                               [](uint64_t p, const Checkpoint& k) { return p < k.position; });
    if (it == m_checkpoints.begin()) return make_error("instruction {} is before the replay's start", position);
    const Checkpoint& c = *std::prev(it);
    TRAPEZE_TRY_ASSIGN(snap, open_snapshot(c.state, default_memory_path(c.state)));
    TRAPEZE_TRY(std::move(m_machine.rewind(snap.contents, snap.memory.get(), c.loop)).context(c.state));
    if (c.recording_index || c.loop.after_round_end)
        TRAPEZE_TRY(m_replayer.rewind_to_checkpoint(c.recording_index));
    else
        TRAPEZE_TRY(m_replayer.rewind(c.mark));
    m_rewound_to = c.position;
    return ok();
}

std::optional<uint64_t> TimeTravel::waypoint(uint64_t target) const {
    if (target < m_rewound_to + kCheckpointGap) return std::nullopt;
    return target - kLeadIn;
}

void TimeTravel::arrived() {
    const uint64_t position = m_machine.icount();
    if (position < m_rewound_to + kCheckpointGap) return;
    if (auto r = save_here(); !r) spdlog::warn("time travel: no checkpoint at instruction {}: {}", position, r.error().message);
    m_rewound_to = position;
}

}  // namespace trapeze::vmm
