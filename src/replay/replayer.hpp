// Replayer: `trapeze run --replay LOG` (issue 24). The machine's HostInputs while it replays a
// recording: every input comes from the log, at the position it entered at when recorded;
// nothing comes from the host (the terminal's keys, the network, the disk's data in the
// default disk mode, the host's entropy and clocks), and an idle machine's time takes the
// recorded warps at once instead of sleeping.
//
// The machine running the same instructions in the same order (harts in turn, the same
// slices under either engine) reaches every position the recording reached, so each input
// finds the guest where it found it then. Whatever tells otherwise is a divergence, and the run
// stops at the next round's end with a message naming the instruction count: an input not
// taken where it was recorded, a device request the log does not hold, a console output whose
// hash differs from the recorded one (OutputCheck, the end), a guest that waits where the
// recording did not, or ends elsewhere.
//
// Thread: the machine's run loop.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "replay/log_reader.hpp"
#include "replay/machine_description.hpp"
#include "replay/session.hpp"

namespace trapeze::replay {

class Replayer final : public Session {
public:
    // Opens the log and decodes its machine description (nothing is checked against the host
    // yet: check_files).
    static Result<std::unique_ptr<Replayer>> open(const std::string& path);
    const MachineDescription& description() const { return m_description; }

    struct Checkpoint {
        uint64_t icount = 0;
        std::string name;  // the snapshot's state file, as the recorder named it
    };
    // Reads the log up to its checkpoint number `index` (0 is the first), so that the replay
    // starts there: the snapshot to restore, at the position it was taken. An error if the log
    // has fewer.
    Result<Checkpoint> seek_checkpoint(uint64_t index);

    // Where the replay stands in its log and its state there, to come back to after a rewind
    // of the machine (a debugger's time travel): the log is read again from its start to it.
    struct Mark {
        uint64_t events = 0;  // taken from the log
        size_t used = 0;      // console bytes of the next one already handed over
        uint64_t icount = 0;
        uint64_t start_icount = 0;
        uint64_t tick_base = 0;
        uint64_t output_hash = 0;
        uint64_t output_bytes = 0;
    };
    Mark mark() const;
    Result<void> rewind(const Mark& m);
    // The replay as at its checkpoint number `index`, or its start (nullopt).
    Result<void> rewind_to_checkpoint(std::optional<uint64_t> index);
    // Every checkpoint of the recording: its position and snapshot name (reads the log).
    static Result<std::vector<Checkpoint>> checkpoints(const std::string& path);
    bool rewindable() const override { return true; }

    // The run ended by itself (poweroff, reset, a failure, quit) at `icount`: whether the
    // recording ended there too, with the same output; the message says which.
    Result<std::string> check_end(uint64_t icount);

    // A frame the NIC in slot `source` receives now, if the recording has one here
    // (ReplayNetBackend); `deliver` takes it before this returns.
    bool take_net_frame(uint16_t source, const std::function<void(std::span<const uint8_t>)>& deliver);

    // machine::HostInputs
    void position(uint64_t icount, bool round_end) override;
    bool console_byte(uint8_t& byte, const std::function<bool(uint8_t&)>& terminal) override;
    size_t entropy(uint16_t source, std::span<uint8_t> out, const std::function<size_t(std::span<uint8_t>)>& host) override;
    bool disk_read(uint16_t source, uint64_t offset, const virtio::ByteSpans& data,
                   const std::function<bool(uint64_t, const virtio::ByteSpans&)>& host) override;
    bool disk_writes() const override { return m_description.disk_mode == DiskMode::Checksum; }
    Result<std::unique_ptr<virtio::NetBackend>> net_backend(uint16_t source, const MakeBackend& host) override;
    uint64_t idle(uint64_t until_deadline, const std::function<void(uint64_t ns)>& sleep) override;
    bool stop_here(std::string& why) override;

private:
    // The next event of the log, kept until it is taken (its payload copied: the reader's
    // is valid only until its next read).
    struct Next {
        uint64_t icount = 0;
        EventKind kind = EventKind::ConsoleInput;
        uint16_t source = 0;
        std::vector<uint8_t> payload;
        size_t used = 0;  // console bytes already handed over
    };

    Replayer(std::string path, LogReader log, MachineDescription d);
    const Next* peek();
    void take() {
        m_next.reset();
        ++m_taken;
    }
    Result<void> reopen();
    // The next event is `kind` from `source` at the current position.
    const Next* next_here(EventKind kind, uint16_t source);
    void diverge(std::string what);
    bool take_disk_piece(uint16_t source, uint64_t& offset, const virtio::ByteSpans& data, size_t& span, size_t& at);
    std::string end_message(uint64_t icount, uint64_t hash, uint64_t bytes) const;

    std::string m_path;
    LogReader m_log;
    MachineDescription m_description;
    uint64_t m_taken = 0;  // events taken from the log
    std::optional<Next> m_next;
    bool m_exhausted = false;  // the log has no more events (complete() or not)
    std::string m_diverged;    // why the replay left the recording, once it has
};

}  // namespace trapeze::replay
