// Recorder: `trapeze run --record LOG` (issue 24). The machine's HostInputs while it runs: every
// input from the host goes to the guest as usual and into the log (docs/replay.md) with the
// position it entered at, guest time follows the instructions retired, and an idle machine's
// time warps forward by the host time it slept. Every `checkpoint_every` instructions a
// snapshot of the whole machine is taken (Checkpoint), which replay can start from, and the
// console output's running hash goes into the log now and then (OutputCheck) and at the end.
//
// A log that cannot be written (a full disk) ends the run with that error; so does an input
// the log cannot hold. Whatever was written up to there stays a readable, unfinished log.
//
// Thread: the machine's run loop.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "replay/log_writer.hpp"
#include "replay/machine_description.hpp"
#include "replay/session.hpp"

namespace trapeze::replay {

struct RecordOptions {
    std::string path;
    uint64_t checkpoint_every = 0;  // instructions between checkpoints; 0: none
    DiskMode disk_mode = DiskMode::Log;
};

class Recorder final : public Session {
public:
    // Describes `cfg` (reads its files for their checksums) and starts the log.
    static Result<std::unique_ptr<Recorder>> create(const machine::MachineConfig& cfg, const RecordOptions& options);

    // Saves a snapshot of the machine where its run loop stands and returns the name the log
    // keeps for it (the app's: RiscvMachine::save_snapshot_in_loop).
    using Checkpointer = std::function<Result<std::string>(uint64_t icount)>;
    void set_checkpointer(Checkpointer c) { m_checkpointer = std::move(c); }

    // The run ended at `icount`: the end record (final output hash), and the log is closed.
    Result<void> finish(uint64_t icount);
    const std::string& path() const { return m_options.path; }
    uint64_t checkpoint_every() const { return m_options.checkpoint_every; }
    uint64_t checkpoints() const { return m_checkpoints; }
    uint64_t events() const { return m_log.events(); }
    uint64_t log_bytes() const { return m_log.file_bytes(); }

    // machine::HostInputs
    void position(uint64_t icount, bool round_end) override;
    bool console_byte(uint8_t& byte, const std::function<bool(uint8_t&)>& terminal) override;
    size_t entropy(uint16_t source, std::span<uint8_t> out, const std::function<size_t(std::span<uint8_t>)>& host) override;
    bool disk_read(uint16_t source, uint64_t offset, const virtio::ByteSpans& data,
                   const std::function<bool(uint64_t, const virtio::ByteSpans&)>& host) override;
    bool disk_writes() const override { return true; }
    Result<std::unique_ptr<virtio::NetBackend>> net_backend(uint16_t source, const MakeBackend& host) override;
    uint64_t idle(uint64_t until_deadline, const std::function<void(uint64_t ns)>& sleep) override;
    bool stop_here(std::string& why) override;

    // A frame the NIC in slot `source` takes now (RecordingNetBackend, at a round's end).
    void net_frame(uint16_t source, std::span<const uint8_t> frame);

private:
    Recorder(const RecordOptions& options, const MachineDescription& d, LogWriter log);
    void append(EventKind kind, uint16_t source, std::span<const uint8_t> payload);
    void flush_console();
    void check_output();

    RecordOptions m_options;
    LogWriter m_log;
    Checkpointer m_checkpointer;
    std::vector<uint8_t> m_console;  // bytes popped at this round's end, one event when it ends
    std::vector<uint8_t> m_scratch;  // a disk read's payload
    Result<void> m_error = ok();     // the first failure: the run stops at the next round's end
    uint64_t m_last_checkpoint = 0;
    uint64_t m_checkpoints = 0;
    uint64_t m_checked_bytes = 0;   // output bytes at the last OutputCheck
    uint64_t m_checked_icount = 0;
    uint64_t m_flushed_icount = 0;  // position of the last flush of the log
};

}  // namespace trapeze::replay
