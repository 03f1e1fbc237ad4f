// HostInputs: the one door through which everything from outside the guest's control enters a
// RISC-V machine whose harts take turns, so that a run can be recorded and replayed exactly
// (replay::Recorder, replay::Replayer; issue 24). A machine without one takes its inputs from
// the host directly.
//
// With HostInputs the machine is deterministic by instruction count: its position is the number
// of instructions every hart has retired (`icount`, counted from the recording's start); harts
// run in a fixed order and fixed slices, which end at the same block boundaries under either
// engine; guest time is a function of the position (ticks_at) plus the warps an idle machine
// takes; and inputs enter only at two kinds of points, each reached at the same position on
// every run:
//  * at a round's end (every hart ran its slice; the machine's position is `icount`): console
//    input, received network frames, idle warps of the clock;
//  * inside a device request the guest itself made (a disk read, an entropy request), which
//    happens at the same instruction on every run: their data. These are stamped with the
//    position at the start of the slice they happen in.
// Outputs are not inputs; the console's is hashed (output()) so that replay can check it.
//
// Thread: the machine's run loop (harts in turn run on it), and the devices it runs there.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "base/result.hpp"
#include "virtio/descriptor_chain.hpp"
#include "virtio/net/net_backend.hpp"

namespace trapeze::machine {

class HostInputs {
public:
    virtual ~HostInputs() = default;

    // The position the machine starts at (0, or a replay checkpoint's).
    virtual uint64_t start_icount() const = 0;
    // Guest time (GuestClock ticks) at `icount`, the warps taken so far included:
    // tick_base() + icount / instructions_per_tick().
    virtual uint64_t ticks_at(uint64_t icount) const = 0;
    virtual uint64_t tick_base() const = 0;
    virtual uint64_t instructions_per_tick() const = 0;
    // Host wall-clock nanoseconds since the epoch that the guest's RTC starts from.
    virtual uint64_t wall_clock_start_ns() const = 0;
    // The random bytes the device tree gives the guest's kernel at boot (/chosen/rng-seed),
    // drawn from the host when the recording started; empty: the device tree has none.
    virtual std::span<const uint8_t> boot_seed() const = 0;

    // The machine is at `icount`: at the start of a slice, or at a round's end (round_end
    // true), before that round's inputs are taken.
    virtual void position(uint64_t icount, bool round_end) = 0;

    // One byte of console input for the guest, at a round's end; `terminal` pops one from the
    // host's terminal. False: none now.
    virtual bool console_byte(uint8_t& byte, const std::function<bool(uint8_t&)>& terminal) = 0;
    // Entropy for the virtio-rng in slot `source`: fills `out`, returns how many bytes it
    // filled; `host` is the host's source (getrandom).
    virtual size_t entropy(uint16_t source, std::span<uint8_t> out,
                           const std::function<size_t(std::span<uint8_t>)>& host) = 0;
    // A read of the disk in slot `source` at byte `offset` into `data`; `host` reads the disk
    // file. False: an I/O error for the guest.
    virtual bool disk_read(uint16_t source, uint64_t offset, const virtio::ByteSpans& data,
                           const std::function<bool(uint64_t, const virtio::ByteSpans&)>& host) = 0;
    // Whether the guest's disk writes reach the disk files (a replay that reads from the log
    // leaves them alone).
    virtual bool disk_writes() const = 0;
    // The network backend of the NIC in slot `source`; `host` makes the host's (a recording
    // wraps it, a replay does not make one).
    using MakeBackend = std::function<Result<std::unique_ptr<virtio::NetBackend>>()>;
    virtual Result<std::unique_ptr<virtio::NetBackend>> net_backend(uint16_t source, const MakeBackend& host) = 0;

    // Every hart waits in WFI at a round's end. Returns the ticks guest time advances before
    // the machine looks at its inputs again, at most `until_deadline` (the earliest timer);
    // `sleep(ns)` waits in host time until then, or until host input arrives.
    virtual uint64_t idle(uint64_t until_deadline, const std::function<void(uint64_t ns)>& sleep) = 0;

    // What the guest wrote to its console (for the output hash).
    virtual void output(std::span<const uint8_t> bytes) = 0;
    // Whether the machine may be rewound to an earlier position (a replay, with a debugger's
    // time travel): its end then waits for the debugger instead of ending the run.
    virtual bool rewindable() const { return false; }
    // After a round's inputs: true if the machine is to stop here (a replay reached the
    // recording's end, or diverged); `why` then says so.
    virtual bool stop_here(std::string& why) = 0;
};

}  // namespace trapeze::machine
