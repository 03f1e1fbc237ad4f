// GdbServer: `--gdb ADDRESS`: serves gdb on a listening socket from a thread of its own, one
// connection at a time, each a Session over the same DebugTarget. While the guest runs, the
// thread waits on the connection (for Ctrl-C) and the target's stop_fd() together.
//
// A gdb that goes away without detaching leaves the guest running (Session::on_disconnect),
// and the next connection attaches afresh. The guest's end is told to a gdb waiting for a stop
// (W) before the server stops.
//
// Thread: start() and stop() on the thread that owns the machine; the serving thread runs the
// target's calls, sandboxed as the kind start() names (what the target's calls need).
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "base/result.hpp"
#include "base/unique_fd.hpp"
#include "gdb/listener.hpp"
#include "gdb/target.hpp"
#include "sandbox/sandbox.hpp"

namespace trapeze::gdb {

class GdbServer {
public:
    // The target outlives the server. `confinement`: the serving thread's seccomp list.
    static Result<std::unique_ptr<GdbServer>> start(Listener listener, DebugTarget& target,
                                                    sandbox::ThreadKind confinement);
    GdbServer(const GdbServer&) = delete;
    GdbServer& operator=(const GdbServer&) = delete;
    ~GdbServer();  // stop()

    // Ends the serving thread after what the target has signalled is handled (a gdb waiting
    // for a stop hears that the guest ended); a connected gdb is disconnected.
    void stop();
    const std::string& address() const { return m_listener.description(); }

private:
    GdbServer(Listener listener, DebugTarget& target, UniqueFd quit, sandbox::ThreadKind confinement);
    void thread_main();
    void serve(int conn);
    bool serve_input(int conn, class Session& session, class PacketReader& reader, std::string& last_sent);
    bool quit_requested() const;

    Listener m_listener;
    DebugTarget& m_target;
    UniqueFd m_quit;  // eventfd: stop()
    sandbox::ThreadKind m_confinement;
    std::thread m_thread;
};

}  // namespace trapeze::gdb
