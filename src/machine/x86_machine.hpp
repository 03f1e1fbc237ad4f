// X86Machine: an x86-64 guest on Linux KVM. Owns the VM, guest RAM (one region at GPA 0,
// below the 3 GiB MMIO hole), the port and MMIO buses, the shared 16550 UART (COM1, port
// 0x3f8, GSI 4 of the in-kernel IOAPIC/PIC), the virtio-mmio slots (one virtio-blk each),
// the power-control ports, and one thread per vCPU.
//
// Boot: an ELF kernel with a Xen PVH note is entered through PVH (Linux vmlinux, or the
// project's freestanding test guest); a bzImage through the Linux 64-bit boot protocol. The
// board layout is in arch/x86_64/layout.hpp. Linux finds the devices both on its command
// line (virtio_mmio.device=, appended per disk) and in the ACPI tables
// (arch/x86_64/acpi_tables.hpp), whose RSDP the start info / boot_params point to.
//
// Threads: run() starts one thread per vCPU and waits for them. Each vCPU thread runs
// kvm::run_vcpu; its I/O exits take m_io_lock, so devices see one caller at a time (the
// UART and virtio transports are not re-entrant). The first lifecycle event (power off, reset,
// triple fault, error) is recorded under m_exit_lock, then m_stop is set (release) and every
// vCPU is kicked out of KVM_RUN (immediate_exit + SIGUSR1, whose handler does nothing).
// With ioeventfds, a notify thread waits on them and runs the virtio transports' QueueNotify
// under m_io_lock as well; run() stops it after the vCPUs. The same thread (started for
// rate-limited disks even without ioeventfds) sleeps until the earliest disk's rate limiter
// has the tokens for a request it holds back, and polls the disks (EventSource) then.
//
// CPU quota (cpu_quota_percent, runloop::CpuQuota): a vCPU thread charges the quota before
// every KVM_RUN and sleeps to the next period once it is spent. A guest busy in a loop may not
// exit to userspace for seconds (its timer interrupts stay in the kernel's LAPIC), so each
// vCPU thread also carries a timer on its own CPU clock that kicks it out of KVM_RUN after
// every 5 ms of CPU it uses: the quota is checked at least that often while the vCPU runs.
//
// Pause: pause() counts itself, sets m_pause_requested and kicks every vCPU out of KVM_RUN the same way; a
// vCPU whose KVM_RUN returns EINTR (its last I/O exit then completed, so its state is whole)
// parks in interrupted() until resume() or the end of the VM. The kick's immediate_exit is
// cleared there, under m_exit_lock and only if finish() has not run, so no stop is lost.
// Locks: m_pause_lock before m_exit_lock; finish() takes m_pause_lock after releasing m_exit_lock.
// A debugger (x86_debug.cpp) parks vCPUs the same way: see "debugger" below.
//
// Snapshots (x86_snapshot.cpp): sections "machine" (the board), "vm" (irqchip, PIT, kvmclock),
// "vcpuN", "uart", "virtioN"; RAM in the memory file. Power control has no state that outlives
// its event (which ends the VM). Restore builds the board from its X86Config, maps the memory
// file copy-on-write instead of loading a kernel, and applies every state.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <pthread.h>
#include <string>
#include <vector>

#include "arch/x86_64/power_control.hpp"
#include "base/result.hpp"
#include "base/unique_fd.hpp"
#include "bus/irq_line.hpp"
#include "bus/mmio_bus.hpp"
#include "bus/pio_bus.hpp"
#include "devices/uart16550.hpp"
#include "kvm/kvm_state.hpp"
#include "kvm/kvm_system.hpp"
#include "kvm/kvm_vcpu.hpp"
#include "kvm/kvm_vm.hpp"
#include "kvm/vcpu_loop.hpp"
#include "memory/guest_memory.hpp"
#include "runloop/cpu_quota.hpp"
#include "snapshot/snapshot_file.hpp"
#include "virtio/virtio_blk.hpp"
#include "virtio/virtio_mmio_transport.hpp"

namespace trapeze {

struct X86Config {
    std::string kernel;   // ELF with a PVH note (vmlinux, test guest) or a bzImage
    std::string initrd;   // optional
    std::string cmdline;  // virtio_mmio.device= entries for the disks are appended
    uint64_t memory_mib = 256;
    uint32_t cpus = 1;
    std::vector<virtio::BlkConfig> disks;  // at most 8 (one virtio-mmio slot each)
    // Receives every byte the guest writes to COM1; empty = write to stdout.
    std::function<void(uint8_t)> console_out;
    // Queue notifications through KVM ioeventfds, served by an I/O thread, instead of an exit
    // to the writing vCPU's thread (which then runs the device synchronously).
    bool ioeventfd = true;
    // The share of one host CPU the VM process may use, in percent (150 = one and a half
    // CPUs); 0 = no limit. See runloop::CpuQuota.
    unsigned cpu_quota_percent = 0;
    // KVM's dirty log on RAM (Firecracker's track_dirty_pages): what Diff snapshots need; it
    // costs a write-protection fault on the first write to each page after every snapshot.
    bool track_dirty_pages = false;
};

enum class X86ExitReason : uint8_t { PowerOff, Reset, TripleFault, Error, Stopped };

struct X86Exit {
    X86ExitReason reason;
    std::string detail;
};

// Process exit status for each reason: 0 power off or stopped by the host, 2 reset,
// 3 triple fault, 4 vCPU error.
int exit_status(X86ExitReason reason);
const char* to_string(X86ExitReason reason);

class X86Machine final : private kvm::VcpuIo {
public:
    static Result<std::unique_ptr<X86Machine>> create(const X86Config& config);
    ~X86Machine();
    X86Machine(const X86Machine&) = delete;
    X86Machine& operator=(const X86Machine&) = delete;

    // Runs every vCPU until the first lifecycle event. Host failures (KVM_RUN errors) are
    // reported as X86ExitReason::Error with the message.
    X86Exit run();

    // Ends the VM from the host side (X86ExitReason::Stopped). Any thread, including a
    // console_out callback (which runs under the I/O lock).
    void stop() { finish(X86ExitReason::Stopped, {}); }

    // Console input for COM1 from any thread (the CLI's stdin reader): false if the UART's
    // receive FIFO is full — the caller keeps the byte and retries later.
    bool console_input(uint8_t byte);

    GuestMemory& memory() { return m_memory; }

    // --- pause and snapshots -----------------------------------------------------------------
    // Returns once every vCPU is parked outside KVM_RUN (or has ended). Any thread but a vCPU's
    // (not from console_out, which runs on one). Before run(), the vCPUs park on their first
    // entry. Pauses nest: the machine runs again when every pause() (and pause_before_run())
    // has had its resume(), so a snapshot taken while gdb holds the machine leaves it stopped.
    // A resume() without a pause does nothing.
    void pause();
    void resume();
    bool paused() const;
    // Pauses a machine whose run() has not started, without waiting: each vCPU thread parks
    // before its first KVM_RUN until resume() (a snapshot loaded without resume_vm). The
    // thread that will call run(), before it does.
    void pause_before_run();

    // Writes the state file (atomically) and the memory file of a paused machine, or of one
    // not running (created or restored and not run yet, or run() returned). Any thread but a
    // vCPU's.
    // diff: only the pages written since the last snapshot (needs track_dirty_pages).
    Result<void> save_snapshot(const std::string& state_path, const std::string& mem_path, bool diff = false);
    // The board a snapshot describes (RAM, vCPUs, disks), to restore it with nothing else given.
    static Result<X86Config> snapshot_config(const snapshot::SnapshotContents& snap);
    // A machine in the snapshot's state, ready to run(). `config` must describe the same board
    // (RAM size, vCPUs, disk count: a mismatch is refused naming both values; a disk whose size
    // changed is only warned about). `memory_fd`: snapshot::open_memory_file, mapped
    // copy-on-write (the file is never written).
    static Result<std::unique_ptr<X86Machine>> restore_snapshot(const X86Config& config,
                                                                const snapshot::SnapshotContents& snap, int memory_fd);
    static Result<std::unique_ptr<X86Machine>> restore_snapshot(const X86Config& config, const std::string& state_path,
                                                                const std::string& mem_path);

    // --- debugger (x86_debug.cpp) ------------------------------------------------------------
    // What a debugger (gdb::X86Target) needs on top of pause()/resume(). The vCPU accessors and
    // run_alone() are for a paused machine (or one whose run() has not started), from the one
    // debugger thread.
    //
    // Debug exits: with guest debugging on (set_guest_debug), a vCPU whose KVM_RUN returns
    // KVM_EXIT_DEBUG records the exit and parks as if paused, until the debugger has taken the
    // exit (take_debug_exits) and the machine is not paused; the listener hears of it.

    using DebugExit = kvm::DebugExit;
    size_t vcpu_count() const { return m_vcpus.size(); }
    // Called after a debug exit that was not run_alone()'s (on that vCPU's thread) and when the
    // VM ends (on the thread that ended it), under the machine's pause lock: it must only wake the
    // debugger (an eventfd write), not call back into the machine. Once this returns, the old
    // listener is no longer called. Any thread.
    void set_debug_listener(std::function<void()> listener);
    // The debug exits the vCPUs are parked on, by vCPU index, handed out once. Paused: a vCPU
    // whose exit is taken leaves its park when the machine resumes.
    std::vector<std::optional<DebugExit>> take_debug_exits();
    // How the VM ended, once it has.
    std::optional<X86Exit> exit_record() const;
    Result<kvm_regs> vcpu_regs(size_t index) const;  // KVM API doc §4.11, §4.12
    Result<void> set_vcpu_regs(size_t index, const kvm_regs& regs);
    Result<kvm_sregs> vcpu_sregs(size_t index) const;  // §4.13, §4.14
    Result<void> set_vcpu_sregs(size_t index, const kvm_sregs& sregs);
    Result<kvm_mp_state> vcpu_mp_state(size_t index) const;  // §4.38
    // §4.87 KVM_SET_GUEST_DEBUG on vCPU `index`.
    Result<void> set_guest_debug(size_t index, const kvm_guest_debug& dbg);
    // Lets vCPU `index` of a paused machine run while the others stay parked, until its next
    // debug exit (with KVM_GUESTDBG_SINGLESTEP set: one instruction), which it returns. Nullopt
    // if the VM ended, or if `limit` passed first (an instruction that waits, such as HLT with
    // interrupts blocked): the vCPU is then stopped wherever it is.
    std::optional<DebugExit> run_alone(size_t index, std::chrono::milliseconds limit);
    // The guest-physical address of `linear` through vCPU `index`'s current paging
    // (x86::translate_linear), nullopt where it is not mapped.
    Result<std::optional<Gpa>> translate(size_t index, Gva linear) const;

private:
    X86Machine(const X86Config& config, kvm::KvmSystem sys, kvm::KvmVm vm, GuestMemory memory);
    // Everything create() does but loading the kernel.
    static Result<std::unique_ptr<X86Machine>> build(const X86Config& config, GuestMemory memory);
    void save_state(snapshot::SnapshotWriter& out, const std::vector<kvm::VcpuState>& vcpus,
                    const kvm::VmState& vm) const;
    Result<void> restore_state(const snapshot::SnapshotContents& snap);
    bool quiescent() const;  // no vCPU in KVM_RUN, none able to enter it
    void kick_vcpus();       // under m_exit_lock
    void vcpu_ended(size_t index);
    Result<void> setup_devices();
    Result<void> setup_vcpus();
    Result<void> setup_ioeventfds();
    void notify_thread();
    Result<void> load_kernel();
    Result<void> boot_pvh(std::vector<uint8_t> data, uint64_t entry);
    Result<void> boot_bzimage(std::span<const uint8_t> data);
    std::string kernel_cmdline() const;
    // Places the initrd (if any) page-aligned as high as possible below min(RAM end, limit).
    Result<std::optional<std::pair<uint64_t, uint64_t>>> load_initrd(uint64_t kernel_end, uint64_t limit);
    uint64_t write_acpi_tables();  // returns the RSDP address
    void vcpu_thread(size_t index);
    void run_vcpu_thread(size_t index);
    void finish(X86ExitReason reason, std::string detail);

    // kvm::VcpuIo
    void pio_read(uint16_t port, std::span<uint8_t> data) override;
    void pio_write(uint16_t port, std::span<const uint8_t> data) override;
    void mmio_read(uint64_t gpa, std::span<uint8_t> data) override;
    void mmio_write(uint64_t gpa, std::span<const uint8_t> data) override;
    void before_run() override;
    void interrupted(kvm::KvmVcpu& vcpu) override;
    void debug_exit(kvm::KvmVcpu& vcpu, const kvm::DebugExit& exit) override;  // x86_debug.cpp
    bool must_park(size_t index) const;  // under m_pause_lock
    void park(std::unique_lock<std::mutex>& lock, size_t index);
    void kick_vcpu(size_t index);  // under m_exit_lock
    void notify_debugger();        // x86_debug.cpp

    X86Config m_config;
    kvm::KvmSystem m_sys;
    kvm::KvmVm m_vm;
    GuestMemory m_memory;
    std::vector<kvm::KvmVcpu> m_vcpus;

    std::mutex m_io_lock;  // serialises every device access and the exit record
    PioBus m_pio;
    MmioBus m_mmio;
    IrqLine m_com1_irq;
    std::unique_ptr<devices::Uart16550> m_uart;
    std::unique_ptr<x86::PowerControl> m_power;
    std::vector<std::unique_ptr<IrqLine>> m_virtio_irqs;
    std::vector<std::unique_ptr<virtio::VirtioMmioTransport>> m_virtio;
    std::vector<EventSource*> m_sources;  // the disks, for their rate limiters' timers (owned by m_virtio)
    std::vector<virtio::VirtioBlk*> m_blks;  // the same disks, for their sizes

    struct NotifyRoute {
        UniqueFd eventfd;
        virtio::VirtioMmioTransport* transport;
        uint16_t queue;
    };
    std::vector<NotifyRoute> m_notify_routes;
    UniqueFd m_notify_stop;  // eventfd: written by run() to end notify_thread()

    std::atomic<bool> m_stop{false};
    mutable std::mutex m_exit_lock;  // never taken before m_io_lock (finish() runs under it)
    std::optional<X86Exit> m_exit;   // guarded by m_exit_lock
    std::vector<pthread_t> m_threads;  // guarded by m_exit_lock

    runloop::CpuQuota m_quota;
    // A vCPU over its quota sleeps on m_throttle_cv; finish() wakes it (m_stop is looked at
    // under m_throttle_lock, so the wake-up cannot fall between that look and the sleep).
    std::mutex m_throttle_lock;
    std::condition_variable m_throttle_cv;

    mutable std::mutex m_pause_lock;
    std::condition_variable m_pause_cv;          // parked vCPUs and pause() wait on it
    std::atomic<bool> m_pause_requested{false};  // m_pauses > 0; written under m_pause_lock
    size_t m_pauses = 0;                         // pauses not yet resumed; guarded by m_pause_lock
    size_t m_live_vcpus = 0;                     // vCPU threads not yet ended; guarded by m_pause_lock
    size_t m_parked = 0;                         // of those, parked (park()); guarded by m_pause_lock

    // The debugger's (x86_debug.cpp), guarded by m_pause_lock: the debug exit each vCPU is parked
    // on, the one vCPU run_alone() lets run while paused, and who hears of debug exits.
    std::vector<std::optional<DebugExit>> m_debug_exits;
    std::optional<size_t> m_solo;
    std::function<void()> m_debug_listener;
};

// The CLI entry point: builds the machine, runs it, prints the exit reason to stderr, and
// returns the process exit status (exit_status()).
Result<int> run_x86_machine(const X86Config& config);

}  // namespace trapeze
