// `trapeze run --record LOG` and `trapeze run --replay LOG` (issue 24): what the CLI needs
// around replay::Recorder and replay::Replayer — the machine a replay rebuilds from its log,
// the checkpoints a recording takes (snapshot files beside the log), the replay that starts at
// one of them, and the line each prints at the end.
//
// Thread: the thread that builds and runs the machine.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "base/result.hpp"
#include "machine/machine_config.hpp"
#include "machine/riscv_machine.hpp"
#include "replay/recorder.hpp"
#include "replay/replayer.hpp"
#include "vmm/restore.hpp"

namespace trapeze::vmm {

// What `run` refuses with --record: options whose effect the log cannot hold.
Result<void> check_recordable(const machine::MachineConfig& cfg);

// A recording of the machine `cfg` describes (its harts taking turns).
Result<std::unique_ptr<replay::Recorder>> start_recording(machine::MachineConfig& cfg, const replay::RecordOptions& options);
// Makes the recorder's checkpoints snapshots of `m`, named after the log (LOG.ckpt-ICOUNT and
// its .mem), kept in the log by their file names, relative to the log's folder.
void take_checkpoints(replay::Recorder& recorder, machine::RiscvMachine& m);

struct ReplaySetup {
    std::unique_ptr<replay::Replayer> replayer;
    machine::MachineConfig config;                 // as recorded, with the engine asked for
    std::optional<SnapshotSource> checkpoint;      // --replay-from: the machine to start from
    std::string private_disk_dir;                  // checksum mode: where the disk copies are
};
// Opens the log, rebuilds its machine's configuration (its files checked against the recorded
// checksums; with --record-disk checksum each disk copied privately, so a replay leaves the
// original as it was and can run again), and with `from` seeks its checkpoint of that number.
Result<ReplaySetup> open_replay(const std::string& path, machine::Engine engine, std::optional<uint64_t> from);

// The line a finished recording prints.
std::string recording_summary(const replay::Recorder& r, uint64_t icount);

}  // namespace trapeze::vmm
