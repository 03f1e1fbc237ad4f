// TimeTravel: what `trapeze run --replay LOG --gdb ADDRESS` needs to run backwards (issue 24):
// the checkpoints a replay can be rewound to, and rewinding it (gdb::Rewinder, which
// gdb::RiscvTarget uses for bs and bc). The checkpoints are the replay's start (a snapshot taken
// before it runs), the recording's own (--checkpoint-every, beside the log), and snapshots this
// takes a little before (kLeadIn) where gdb's travels arrive far from the last one, so that
// stepping back again and again runs only a little from a checkpoint each time. Its own snapshots go to a temporary folder,
// removed with it.
//
// A rewind puts everything back as it was at the checkpoint: RAM (the snapshot's memory file,
// mapped copy-on-write in place), harts and devices, where the loop of harts in turn stood, and
// where the replay stood in its log.
//
// Thread: the gdb stub's, while it holds the machine paused; create() before run().
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "gdb/riscv_target.hpp"
#include "machine/riscv_machine.hpp"
#include "replay/replayer.hpp"

namespace trapeze::vmm {

class TimeTravel final : public gdb::Rewinder {
public:
    // Far enough from the last checkpoint that a travel's arrival gets one of its own.
    static constexpr uint64_t kCheckpointGap = 50'000'000;
    // How far before a far travel's target its checkpoint is taken: steps back from the target
    // replay at most this much (milliseconds) until they pass it.
    static constexpr uint64_t kLeadIn = 2'000'000;

    // `from`: the recording's checkpoint the replay started at, if it did not start at the boot.
    static Result<std::unique_ptr<TimeTravel>> create(machine::RiscvMachine& m, replay::Replayer& r,
                                                      const std::string& log_path, std::optional<uint64_t> from);
    TimeTravel(const TimeTravel&) = delete;
    TimeTravel& operator=(const TimeTravel&) = delete;
    ~TimeTravel() override;

    Result<void> rewind_before(uint64_t position) override;
    uint64_t history_begin() const override { return m_checkpoints.front().position; }
    std::optional<uint64_t> waypoint(uint64_t target) const override;
    void arrived() override;

private:
    struct Checkpoint {
        uint64_t position = 0;
        std::string state;   // snapshot state file; its memory file is default_memory_path(state)
        machine::RiscvMachine::LoopState loop;
        std::optional<uint64_t> recording_index;  // the recording's: the replay seeks it again
        replay::Replayer::Mark mark;              // else: where the replay stood
    };

    TimeTravel(machine::RiscvMachine& m, replay::Replayer& r, std::string dir);
    Result<void> save_here();

    machine::RiscvMachine& m_machine;
    replay::Replayer& m_replayer;
    std::string m_dir;                     // this one's snapshots
    std::vector<std::string> m_own;        // their state files, removed with the folder
    std::vector<Checkpoint> m_checkpoints;  // by position
    uint64_t m_rewound_to = 0;             // the position of the last rewind's checkpoint
};

}  // namespace trapeze::vmm
