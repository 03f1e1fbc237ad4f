// RiscvMachine: the QEMU-virt-compatible RISC-V board — RAM, bus, devices, harts and
// their CPU engines — and the loops that run it.
//
// Two ways to run the harts:
//  * parallel (several harts, the default): each hart runs on a host thread of its own
//    (runloop::HartThreads), all on one engine; CodeCoherence keeps their write entries and
//    decoded code coherent. The thread that calls run() becomes the I/O thread: it moves host input into
//    the devices and runs their timers.
//  * in turn (one hart, --deterministic, or record/replay): the harts take turns on the thread
//    that calls run(), in a fixed order and fixed slices; devices are polled between rounds.
//    With HostInputs every host input goes through it and guest time follows the instructions
//    retired, so a run is repeatable (riscv_inputs.cpp).
//
// Thread: the devices, the bus and the console are touched under m_devices (the device lock)
// by whichever thread does so; guest RAM is never locked. The HostConsole's reader thread and
// the engines' translator threads are the other threads.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <string_view>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "arch/riscv64/board.hpp"
#include "base/guest_clock.hpp"
#include "base/unique_fd.hpp"
#include "base/result.hpp"
#include "bus/mmio_bus.hpp"
#include "devices/clint.hpp"
#include "devices/goldfish_rtc.hpp"
#include "devices/plic.hpp"
#include "devices/sifive_test.hpp"
#include "devices/uart16550.hpp"
#include "machine/host_console.hpp"
#include "machine/host_inputs.hpp"
#include "machine/machine_config.hpp"
#include "machine/riscv_boot.hpp"
#include "memory/guest_memory.hpp"
#include "rv64/code_coherence.hpp"
#include "snapshot/memory_file.hpp"
#include "snapshot/snapshot_file.hpp"
#include "rv64/hart.hpp"
#include "runloop/hart_threads.hpp"
#include "machine/hart_engine.hpp"
#include "base/event_source.hpp"
#include "virtio/console/virtio_console.hpp"
#include "virtio/net/virtio_net.hpp"
#include "virtio/virtio_blk.hpp"
#include "virtio/virtio_mmio_transport.hpp"
#include "virtio/virtio_rng.hpp"

namespace trapeze::machine {

// What a snapshot writes (Firecracker's snapshot_type): all of RAM, or the pages written since
// the machine's last snapshot (or its start or restore).
enum class SnapshotKind { Full, Diff };
struct SnapshotTarget {
    std::string state_path;
    std::string memory_path;
    SnapshotKind kind = SnapshotKind::Full;
};

// How a run ended.
struct RunResult {
    enum class Kind { Poweroff, Reset, Fail, Quit } kind = Kind::Poweroff;
    int exit_code = 0;
};

class RiscvMachine final : private runloop::HartLoop {
public:
    // With inputs the harts' slices are exact instruction counts, and a slice a debugger stop
    // cut short goes on where it stopped: which hart's turn it is, and how far into its slice.
    struct Turn {
        unsigned hart = 0;
        uint64_t done = 0;
    };

    // With `inputs` (record or replay), the harts take turns whatever cfg.deterministic says,
    // and every input from the host goes through it (see HostInputs). It outlives the machine.
    static Result<std::unique_ptr<RiscvMachine>> create(const MachineConfig& cfg, HostConsole& console,
                                                        HostInputs* inputs = nullptr);

    // --- snapshots (riscv_snapshot.cpp) -----------------------------------------------------------
    // Writes the paused machine's state file and memory file: every hart, device, virtio queue
    // position, the guest clock and the configuration that rebuilds the board. Any thread but a
    // hart's; the machine must be paused (pause()). Afterwards the dirty-page log starts over, so
    // the next Diff holds what changed since this snapshot.
    Result<snapshot::MemorySaveStats> save_snapshot(const SnapshotTarget& target);
    // The configuration a snapshot was taken with (its `machine` section), to restore it with
    // nothing else given; the engine is whatever the caller prefers (translations are caches).
    static Result<MachineConfig> snapshot_config(const snapshot::SnapshotContents& snap);
    // A machine in the snapshot's state, RAM mapped copy-on-write from `memory_fd` (see
    // snapshot::open_memory_file). `cfg` must describe the same board: RAM size, harts and the
    // virtio devices slot by slot (disk paths may differ: the operator's choice, checked for
    // size only). Either the whole machine is restored or an error says what did not match.
    static Result<std::unique_ptr<RiscvMachine>> restore(const MachineConfig& cfg, HostConsole& console,
                                                         const snapshot::SnapshotContents& snap, int memory_fd,
                                                         HostInputs* inputs = nullptr);
    RiscvMachine(const RiscvMachine&) = delete;
    RiscvMachine& operator=(const RiscvMachine&) = delete;

    RunResult run();
    uint64_t retired() const;
    std::string engine_summary() const;
    // The machine's hart threads while run() runs them in parallel (nullptr otherwise): what
    // pauses and resumes the harts.
    runloop::HartThreads* hart_threads() { return m_threads.get(); }

    // Stops every hart at an instruction boundary, and the guest clock with them (Firecracker's
    // PATCH /vm Paused); devices keep taking host input. Pauses nest. Any thread but a hart's
    // or run()'s; returns once no hart runs. Before run() the harts stop as soon as they start.
    void pause();
    void resume();
    bool paused() const;
    // Pauses a machine whose run() has not started, without waiting: run() then executes no
    // instruction until resume() (a snapshot loaded without resume_vm). The thread that will
    // call run(), before it does.
    void pause_before_run();

    // Firecracker's PATCH /drives and /network-interfaces: the devices in --disk / --net order.
    // Any thread; the change happens under the device lock.
    Result<void> update_disk(size_t index, const std::optional<std::string>& path,
                             const std::optional<ratelimit::RateLimiterConfig>& limiter);
    Result<void> update_net(size_t index, const std::optional<ratelimit::RateLimiterConfig>& rx,
                            const std::optional<ratelimit::RateLimiterConfig>& tx);
    // The devices' running totals for the metrics: out(group, name, total) for each counter,
    // in Firecracker's names ("block", "net", "entropy", "vcpu"). Any thread.
    void report_counters(const std::function<void(std::string_view, std::string_view, uint64_t)>& out);

    // --- debugger (riscv_debug.cpp) ----------------------------------------------------------------
    // Where a hart stopped for the debugger, and why.
    struct DebugStop {
        unsigned hart = 0;
        rv64::DebugEvent event;
        bool arrived = false;      // a travel reached its goal (set_travel), no point was hit
        bool history_end = false;  // a replay reached the end of its recording
    };
    // Makes the harts and engines look at debug_points(); `on_stop` is called, on the thread of
    // the hart that hit one, when a hart stops at a breakpoint or watchpoint: the debugger then
    // pauses the machine and takes the stop. Before run().
    void enable_debugger(std::function<void()> on_stop);
    // Change only while paused; the harts see the change when they resume.
    rv64::DebugPoints& debug_points() { return m_debug_points; }
    unsigned hart_count() const { return static_cast<unsigned>(m_harts.size()); }
    // A paused hart, for the debugger to read and change.
    rv64::Hart& hart(unsigned i) { return *m_harts[i]; }
    const rv64::Hart& hart(unsigned i) const { return *m_harts[i]; }
    // Paused, after on_stop: which hart stopped and why; every hart's event is cleared. A hart
    // stopped by a watchpoint is before the instruction that would access it (see
    // rv64::DebugPoints).
    std::optional<DebugStop> take_debug_stop();
    // Paused: hart i runs exactly one instruction (see rv64::interp::step_instruction), the
    // others stay paused. If the instruction's access hits a watchpoint, it does not run and
    // that watchpoint is returned.
    std::optional<rv64::DebugEvent> step_hart(unsigned i, bool take_interrupts);
    // Paused: the harts marked in `held` stay stopped once the machine resumes (gdb resumed
    // only some threads): they run no instruction, sleeping as in WFI, but take part in pauses
    // and the machine's end as before, and step_hart() still steps them. Holds until the next
    // call; empty: every hart runs. No effect with inputs, whose schedule picks the hart to run.
    void hold_harts(std::vector<bool> held);
    // gdb's kill: the run ends (RunResult::Kind::Quit). Any thread.
    void end_from_debugger();
    // Whether a debugger is attached to hold a replay at the end of its history (it may rewind
    // it from there); with none, a replay ends there as without a debugger. Paused.
    void set_debugger_attached(bool attached) { m_debugger_attached.store(attached, std::memory_order_release); }
    GuestMemory& memory() { return m_mem; }
    const MmioBus& bus() const { return m_bus; }

    // --- record and replay (riscv_inputs.cpp) -----------------------------------------------------
    // Instructions every hart retired, counted from HostInputs::start_icount (with inputs).
    uint64_t icount() const;
    // The run loop, at a round's end: a checkpoint of the whole machine (record's checkpoints),
    // taken where the loop stands, as a paused machine's save_snapshot would. Only with inputs,
    // on the run loop's thread (HostInputs callbacks).
    Result<snapshot::MemorySaveStats> save_snapshot_in_loop(const SnapshotTarget& target);
    // Why the inputs stopped the run (a replay's end or divergence), after run(); empty if not.
    const std::string& stop_message() const { return m_stop_message; }
    // The debugger's kill ended the run (a replay ended so is not a divergence).
    bool killed_by_debugger() const { return m_killed.load(std::memory_order_acquire); }

    // --- time travel (riscv_inputs.cpp): a replay under the debugger, run to positions --------
    // Where the next run stops (paused: set it, then resume): at a position (the machine's
    // icount; the next instruction of the schedule not yet run), or once hart `hart` has retired
    // `count` instructions since the replay started. With `scan`, breakpoint and watchpoint hits
    // on the way are noted (take_scan_hits) and stepped over instead of stopping the run.
    struct TravelGoal {
        std::optional<uint64_t> position;
        std::optional<std::pair<unsigned, uint64_t>> hart_count;
        bool scan = false;
    };
    void set_travel(const TravelGoal& goal) { m_travel = goal; }
    struct ScanHit {
        uint64_t position = 0;
        unsigned hart = 0;
        rv64::DebugEvent event;
    };
    std::vector<ScanHit> take_scan_hits() { return std::exchange(m_scan_hits, {}); }
    // The schedule so far of a replay under the debugger: runs of one hart's instructions,
    // [start, end) in positions.
    struct Segment {
        unsigned hart = 0;
        uint64_t start = 0;
        uint64_t end = 0;
    };
    const std::vector<Segment>& history() const { return m_history; }
    // Instructions hart i retired since the replay started (its share of the history; a replay
    // under the debugger).
    uint64_t hart_icount(unsigned i) const { return m_hart_icount[i]; }
    // Where the loop stands, besides the harts and devices a snapshot holds.
    struct LoopState {
        uint64_t icount = 0;
        Turn turn;
        bool after_round_end = false;  // resumes after a round's end (a recording's checkpoint)
        std::vector<rv64::Hart::InstructionTime> times;
    };
    LoopState loop_state() const;
    // Paused: the machine as the snapshot `snap` (with its RAM file) and `loop` hold it; the
    // inputs are the caller's to put back where they were then.
    Result<void> rewind(const snapshot::SnapshotContents& snap, int memory_fd, const LoopState& loop);

private:
    RiscvMachine(const MachineConfig& cfg, GuestMemory mem, HostConsole& console, HostInputs* inputs);
    void wire_inputs();
    void inputs_position(bool round_end);
    void sync_instruction_time(rv64::Hart& h);
    void idle_with_inputs();
    bool inputs_stop_here();
    void feed_console_from_inputs();
    RunResult run_with_inputs();
    bool run_round();
    struct ExactRun {
        uint64_t retired = 0;
        EngineExit exit = EngineExit::Budget;
    };
    ExactRun run_exact(unsigned hart, uint64_t n);
    uint64_t travel_limit(unsigned hart, uint64_t n) const;
    bool travel_arrived(unsigned hart);
    bool hold_at_history_end();
    bool holds_history() const;
    bool loop_ending() const;
    bool scan_hit(unsigned hart);
    void note_history(unsigned hart, uint64_t retired);
    void stop_for_travel(unsigned hart, bool history_end);
    void sync_debug(unsigned hart);
    void debug_stopped(unsigned hart);
    bool held(unsigned hart) const { return !m_held.empty() && m_held[hart]; }
    static Result<std::unique_ptr<RiscvMachine>> build(const MachineConfig& cfg, HostConsole& console, GuestMemory mem,
                                                       HostInputs* inputs);
    Result<void> restore_state(const snapshot::SnapshotContents& snap);
    void save_state(snapshot::SnapshotWriter& out) const;
    bool parallel() const { return m_cfg.cpus > 1 && !m_cfg.deterministic && m_inputs == nullptr; }
    Result<void> create_engine();
    Result<void> map_devices();
    Result<void> add_virtio_devices();
    Result<void> add_virtio(std::unique_ptr<virtio::VirtioDevice> device, std::string name);
    void wire_harts();
    Result<void> boot();
    // The bytes for the device tree's /chosen/rng-seed.
    Result<std::vector<uint8_t>> boot_seed() const;
    void wire_hart(unsigned i, rv64::Hart& h);
    void poll_devices();
    void poll_io();
    void feed_console();
    void poll_htif();
    void sleep_until_event();
    void wait_for_io(uint64_t ns);
    bool all_waiting() const;
    void finish(RunResult r);
    RunResult run_in_turn();
    RunResult run_parallel();
    void park_in_turn();
    void wake_io();

    // runloop::HartLoop: what each hart thread does.
    bool run_slice(unsigned hart) override;
    void between_slices(unsigned hart) override;
    bool wants_to_run(unsigned hart) override;
    uint64_t ns_until_timer(unsigned hart) override;

    MachineConfig m_cfg;
    GuestClock m_clock;
    GuestMemory m_mem;
    MmioBus m_bus;
    HostConsole& m_console;
    devices::Plic m_plic;
    devices::Clint m_clint;
    devices::Uart16550 m_uart;
    devices::SifiveTest m_test;
    devices::GoldfishRtc m_rtc;
    std::vector<std::unique_ptr<virtio::VirtioMmioTransport>> m_virtio;  // slot i at virtio_base(i)
    std::vector<EventSource*> m_sources;            // device backends with host input (owned by m_virtio)
    virtio::VirtioConsole* m_vconsole = nullptr;    // set with --console virtio (owned by m_virtio)
    std::vector<virtio::VirtioBlk*> m_blks;         // --disk order (owned by m_virtio)
    std::vector<virtio::VirtioNet*> m_nets;         // --net order (owned by m_virtio)
    virtio::VirtioRng* m_rng = nullptr;             // (owned by m_virtio)
    std::vector<std::unique_ptr<rv64::Hart>> m_harts;
    // The one engine every hart runs on, in turn or in parallel (its code cache is shared).
    std::unique_ptr<HartEngine> m_engine;
    std::unique_ptr<rv64::CodeCoherence> m_coherence;  // parallel only
    std::unique_ptr<runloop::HartThreads> m_threads;   // parallel only
    BootPlan m_boot;
    std::mutex m_devices;  // the device lock (see above)
    std::optional<RunResult> m_result;  // under m_devices
    std::atomic<bool> m_finished{false};
    UniqueFd m_io_wake;  // eventfd: finish() wakes the I/O thread
    // pause()/resume(): how many pauses are in force, and (harts in turn) whether the run loop
    // has stopped running harts for them. Under m_control.
    mutable std::mutex m_control;
    std::condition_variable m_control_cv;
    unsigned m_pauses = 0;
    bool m_turn_parked = false;
    bool m_turn_loop_started = false;
    std::atomic<bool> m_pause_requested{false};  // harts in turn: the loop's cheap check
    // The debugger (riscv_debug.cpp). m_debug_points changes only while paused.
    rv64::DebugPoints m_debug_points;
    bool m_debugger = false;
    std::function<void()> m_on_debug_stop;
    // A hart stopped for the debugger and no hart runs until the debugger has taken the stop.
    std::atomic<bool> m_debug_stop{false};
    std::atomic<unsigned> m_debug_stop_hart{0};  // the first that stopped
    std::vector<uint64_t> m_watch_gen_seen;      // per hart: the watchpoints its TLB reflects
    // hold_harts(): changes only while paused; the harts read it after the pause let them go,
    // which orders it (the rendezvous' mutex, or m_pause_requested for harts in turn).
    std::vector<bool> m_held;
    HostInputs* m_inputs = nullptr;  // record or replay (not owned); the harts then take turns
    std::string m_stop_message;      // see stop_message()
    bool m_inputs_open = false;      // at a round's end: host input may enter (with m_inputs)
    // With inputs the harts' slices are exact instruction counts, and a slice a debugger stop
    // cut short goes on where it stopped: which hart's turn it is, and how far into its slice.
    Turn m_turn;
    uint64_t m_icount = 0;  // instructions retired by every hart, from HostInputs::start_icount
    std::optional<TravelGoal> m_travel;
    std::vector<ScanHit> m_scan_hits;
    std::vector<Segment> m_history;
    bool m_resume_after_round_end = false;  // rewound to a recording's checkpoint
    bool m_history_end = false;             // stopped for the debugger at the recording's end
    bool m_travel_stop = false;             // the debugger's stop is a travel's (no point hit)
    std::vector<uint64_t> m_hart_icount;    // instructions each hart retired since the start
    std::atomic<bool> m_killed{false};      // gdb's kill: no history end holds the run
    std::atomic<bool> m_debugger_attached{false};  // see set_debugger_attached()
};

}  // namespace trapeze::machine
