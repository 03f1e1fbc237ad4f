// DebugTarget: what the gdb stub (gdb::Session) needs from a machine, whatever its architecture
// and engine. The session speaks the GDB remote serial protocol; a target answers in terms of
// threads (one per hart or vCPU, numbered 0..threads()-1 here, 1..N on the wire), registers
// numbered as its target description numbers them, and guest memory.
//
// Execution model (all-stop): while gdb has control every thread is stopped. step() runs one
// thread by exactly one instruction while the others stay stopped; resume() lets the threads
// gdb resumed run (every one, or those a vCont names) until something stops the machine: a
// breakpoint or watchpoint (the target makes stop_fd() readable; the session then calls
// take_stop(), which stops every thread and says why), Ctrl-C from gdb (interrupt()), or the
// guest's end (take_stop() says Exited). A thread gdb did not resume runs nothing meanwhile.
//
// Thread: every member is called on the session's thread. The target signals stop_fd() from
// whichever thread noticed the stop.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace trapeze::gdb {

// Z/z packet types (GDB remote protocol, "Packets": Z0..Z4).
enum class PointType : uint8_t { Software = 0, Hardware = 1, Write = 2, Read = 3, Access = 4 };

struct StopReason {
    enum class Kind : uint8_t {
        Signal,      // stopped (attach, step, Ctrl-C): T<signal>
        Breakpoint,  // a Z0/Z1 breakpoint: T05 with swbreak/hwbreak
        Watch,       // a Z2/Z3/Z4 watchpoint: T05 with watch/rwatch/awatch:ADDR
        Exited,      // the guest ended: W<code>
    };
    Kind kind = Kind::Signal;
    unsigned thread = 0;  // 0-based
    int signal = 5;       // SIGTRAP; SIGINT (2) for Ctrl-C
    PointType point = PointType::Software;  // Breakpoint, Watch: which kind hit
    uint64_t data_address = 0;              // Watch: an address inside the watched range
    int exit_code = 0;                      // Exited
    // A replay's history ends here (replaylog:begin going backwards, replaylog:end going forward):
    // the machine went as far as it can in that direction.
    enum class History : uint8_t { Inside, Begin, End } history = History::Inside;
};

// Which threads a resume runs, one flag per thread (0-based).
using ThreadSet = std::vector<bool>;

// How step() treats interrupts pending when it starts (QEMU's qqemu.sstep bits).
struct StepFlags {
    bool take_interrupts = false;  // false: the step executes the instruction at pc, the
                                   // interrupt stays pending until the next continue
};

class DebugTarget {
public:
    virtual ~DebugTarget() = default;

    // --- description ----------------------------------------------------------------------
    virtual unsigned threads() const = 0;
    // qXfer:features:read: the document called `annex` ("target.xml" and the files it
    // includes), or nullopt if there is none of that name.
    virtual std::optional<std::string> feature_document(std::string_view annex) const = 0;
    // Registers in the `g` packet, in order: regnums 0..g_register_count()-1.
    virtual unsigned g_register_count() const = 0;
    // One line for qThreadExtraInfo ("hart 0, S-mode").
    virtual std::string thread_info(unsigned thread) const = 0;

    // --- lifecycle --------------------------------------------------------------------------
    // gdb connected: stop every thread (if not already stopped), say where.
    virtual StopReason attach() = 0;
    // gdb detached or went away: every point removed, the machine running again.
    virtual void detach() = 0;
    // gdb's `kill`: the machine ends (the VMM exits as if the guest had powered off).
    virtual void kill() = 0;

    // --- while stopped ----------------------------------------------------------------------
    // Register `regnum` of `thread`, little-endian bytes; nullopt if there is no such register
    // (the session answers E).
    virtual std::optional<std::vector<uint8_t>> read_register(unsigned thread, unsigned regnum) = 0;
    virtual bool write_register(unsigned thread, unsigned regnum, std::span<const uint8_t> bytes) = 0;
    // Memory as `thread` sees it (its current address translation), or guest-physical
    // addresses when `physical`. Returns how many bytes from the start could be accessed
    // (fewer than asked: the rest is unmapped or not RAM).
    virtual size_t read_memory(unsigned thread, uint64_t addr, std::span<uint8_t> out, bool physical) = 0;
    virtual size_t write_memory(unsigned thread, uint64_t addr, std::span<const uint8_t> in, bool physical) = 0;
    // Z/z. `kind`: the breakpoint's instruction length or the watched length. False if the
    // target cannot, or for z if no such point is set (the session answers E, or an empty
    // reply for a type it lacks). A Z of a point already set succeeds and sets nothing more.
    virtual bool supports(PointType type) const = 0;
    virtual bool insert_point(PointType type, uint64_t addr, uint64_t kind) = 0;
    virtual bool remove_point(PointType type, uint64_t addr, uint64_t kind) = 0;
    // Exactly one instruction of `thread` (a trap it takes counts: pc is then the handler's);
    // the other threads stay stopped. Says why it stopped: Signal, or a breakpoint/watchpoint
    // hit by that instruction.
    virtual StopReason step(unsigned thread, StepFlags flags) = 0;
    // `monitor CMD` (qRcmd): the text to show, or nullopt if the target has no such command.
    virtual std::optional<std::string> monitor(std::string_view command) = 0;

    // --- running ----------------------------------------------------------------------------
    // The threads marked in `run` (threads() flags, at least one set) run until a stop; the
    // others stay stopped ("Packets", vCont: a thread no action names is not resumed). gdb
    // steps RISC-V in software, resuming only the stepped thread towards a breakpoint after
    // the instruction: another thread must not run into that breakpoint first.
    virtual void resume(const ThreadSet& run) = 0;
    // Readable when a running machine has stopped on its own (breakpoint, watchpoint, the
    // guest's end).
    virtual int stop_fd() const = 0;
    // After stop_fd() became readable: stops every thread and says why; nullopt if it was a
    // spurious wake-up (the machine keeps running).
    virtual std::optional<StopReason> take_stop() = 0;
    // Ctrl-C: stops every thread now; the stop names a thread that was running.
    virtual StopReason interrupt() = 0;

    // --- reverse execution (a replay; gdb's bs and bc) ----------------------------------------
    virtual bool can_reverse() const { return false; }
    // Back to just before the last instruction `thread` ran (every thread with it: the machine
    // goes back to that moment); History::Begin if it has run none.
    virtual StopReason reverse_step(unsigned) { return {}; }
    // Back to the last breakpoint or watchpoint hit before now, or to the start of the history.
    virtual StopReason reverse_continue() { return {}; }
};

}  // namespace trapeze::gdb
