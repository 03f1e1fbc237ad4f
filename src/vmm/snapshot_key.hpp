// SnapshotKey: Ctrl-A s on the terminal saves a snapshot of the running VM (`trapeze run
// --snapshot-path PATH`), as QEMU's monitor `savevm` would, without stopping it for longer
// than the save takes.
//
// The console's reader thread only signals an eventfd; this class's own thread
// ("snapshot-key") does the work, since pausing waits for the harts and must not run on a
// hart's, the run loop's or the reader's thread. One line on stderr says where the snapshot
// went, or why it failed; the VM goes on either way.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "base/result.hpp"
#include "base/unique_fd.hpp"
#include "machine/host_console.hpp"

namespace trapeze::vmm {

class SnapshotKey {
public:
    // save(): pauses the VM, writes the snapshot, resumes it; returns the line to print.
    using Save = std::function<Result<std::string>()>;

    // Before console.start() (the reader thread reads what the key does).
    static Result<std::unique_ptr<SnapshotKey>> start(machine::HostConsole& console);
    // What the key does from now on; empty (no machine yet, or gone) says so instead.
    // Returns once a save under way has finished, so the machine may go after unset.
    void set_save(Save save);
    ~SnapshotKey();  // stops the thread (a save under way completes first)
    SnapshotKey(const SnapshotKey&) = delete;
    SnapshotKey& operator=(const SnapshotKey&) = delete;

private:
    SnapshotKey(UniqueFd request, UniqueFd stop);
    void loop();

    std::mutex m_mutex;  // held while m_save runs
    Save m_save;
    UniqueFd m_request;  // eventfd: Ctrl-A s
    UniqueFd m_stop;     // eventfd: the destructor
    std::thread m_thread;
};

}  // namespace trapeze::vmm
