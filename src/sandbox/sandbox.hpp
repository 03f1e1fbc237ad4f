// The sandbox (issue 22): a seccomp-bpf filter per thread, in the way of Firecracker's, so that
// code that guest input reaches (devices, the engines, the API) cannot make any system call
// its thread does not need: no execve, no new processes, no sockets or files where the thread
// has no business with them, no executable memory once the machine is built.
//
// main calls enable() once, before any thread starts (default: on; `--no-seccomp` turns it
// off). Each thread calls confine_this_thread() with its kind once its own setup is done and
// before it runs guest code or reads input (the lists are in allowlist.cpp). A forbidden call
// ends the process at once with kForbiddenCallStatus and one line on stderr:
//
//   trapeze: seccomp: thread 'trapeze-hart0' (hart) made forbidden system call 41 (socket); stopping
//
// Filters stack: a thread started by a confined thread carries its parent's filter too, and a
// call must pass both. So a thread confines itself after it has started the threads that need
// more than it does (the x86 VMM thread confines itself once its vCPU threads run), or its list
// covers theirs (the RISC-V VMM thread runs harts itself when they take turns, so its list
// holds the hart list).
//
// Builds with ASan, UBSan or TSan install no filter: their runtimes make system calls of their
// own at any time (LeakSanitizer's check at exit clones a tracer and ptraces every thread;
// ASan's allocator probes memory through a pipe), and allowing those would void the lists.
// The unit tests that need a filter skip themselves there.
//
// Thread: enable() and set_needs() on the main thread before the threads they concern start;
// confine_this_thread() on the thread it confines.
#pragma once

#include "base/result.hpp"

namespace trapeze::sandbox {

// Every thread trapeze runs, by what it does.
enum class ThreadKind {
    Vmm,            // main: builds the machine, then its I/O loop (RISC-V: runs the harts when
                    // they take turns), waits for the vCPU threads (x86), tears down
    Api,            // the Firecracker API server (api/): HTTP on a unix socket
    Hart,           // a RISC-V hart on a thread of its own (runloop/): guest code, MMIO devices
    Translator,     // the JIT's background translator (rv64/jit/): pure computation
    Prefaulter,     // guest RAM populated ahead of the guest (memory/RamPrefaulter): madvise only
    ConsoleReader,  // HostConsole's stdin reader
    ConsolePump,    // x86: main's pump from the terminal to COM1
    Signals,        // ShutdownSignals' watcher (base/)
    Vcpu,           // an x86-64 vCPU thread: KVM_RUN and the exits' devices
    IoNotifier,     // x86: the ioeventfd thread that runs virtio queue notifications
    SnapshotKey,    // the CLI's Ctrl-A s watcher (vmm/): pauses the machine, writes the snapshot
    Debugger,       // the RISC-V gdb stub (gdb/GdbServer): its socket, and a hart's steps (MMIO devices)
    X86Debugger,    // the x86-64 gdb stub: its socket, the vCPUs' registers and guest-debug state
};

const char* to_string(ThreadKind kind);

// What the machine is built with that widens some lists (main sets it before the machine's
// threads start; an API-configured machine before InstanceStart).
struct Needs {
    // --net user: libslirp opens, reads and writes host sockets, and reads /etc/resolv.conf for
    // DNS, on the thread that passes it a guest frame (a hart's or the VMM thread) or polls it.
    bool user_net = false;
    // --on-reboot restart: the VMM thread builds the next machine after it was confined
    // (opens images and disks, maps RAM and the JIT's code buffer, starts translator threads).
    bool rebuild = false;
    // --record --checkpoint-every: the VMM thread (harts in turn) writes snapshot files between
    // rounds.
    bool checkpoints = false;
    // --replay --gdb: the stub's thread rewinds the replay (time travel): it reads snapshots
    // and the log, maps a snapshot's memory file over guest RAM and writes checkpoints of its
    // own, which the VMM thread removes at the end.
    bool time_travel = false;
};

// The scheduling priority (nice) the JIT's translator thread and RAM's prefaulter give
// themselves as they start, before they confine themselves (rv64/jit/Translator,
// memory/RamPrefaulter): so the filter of the thread that starts them, the VMM thread's once it
// rebuilds a machine (Needs::rebuild), allows setpriority to that value only.
constexpr int kTranslatorNice = 10;

// The exit status of a process stopped by a forbidden system call (Firecracker's).
constexpr int kForbiddenCallStatus = 148;

// Turns the sandbox on or off for the whole process. On, it also installs the SIGSYS handler
// that reports a forbidden call.
void enable(bool on);
bool enabled();
void set_needs(const Needs& needs);
Needs needs();

// Installs the calling thread's filter (PR_SET_NO_NEW_PRIVS, this thread only) if the sandbox
// is on and this is not a sanitizer build; does nothing otherwise. An error says why the filter
// could not be installed; the thread must then not go on to run guest code.
Result<void> confine_this_thread(ThreadKind kind);

// Installs the filter whatever enable() said (tests call it in a child process).
Result<void> install_filter(ThreadKind kind);

// True in builds whose sanitizer runtimes keep confine_this_thread() from installing filters.
bool sanitizer_build();

}  // namespace trapeze::sandbox
