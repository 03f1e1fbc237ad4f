#include "gdb/server.hpp"

#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include <fmt/format.h>

#include "gdb/packet.hpp"
#include "gdb/session.hpp"
#include "sandbox/sandbox.hpp"

namespace trapeze::gdb {

namespace {

// gdb cannot be written to: as if it had closed the connection.
bool gone(Session& session) {
    if (!session.finished()) session.on_disconnect();
    return false;
}

// How long gdb may leave a reply unread before it counts as gone: a client that stops reading
// must not hang the stub (and with it the VMM's exit, which waits for this thread).
constexpr int kSendTimeoutMs = 10'000;

// The whole reply or nothing useful: a gdb that stops reading is gone for our purposes.
bool send_all(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
        pollfd p{fd, POLLOUT, 0};
        const int ready = ::poll(&p, 1, kSendTimeoutMs);
        if (ready < 0 && errno == EINTR) continue;
        if (ready <= 0 || (p.revents & POLLOUT) == 0) return false;
        const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n <= 0) return false;
        bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
}

}  // namespace

Result<std::unique_ptr<GdbServer>> GdbServer::start(Listener listener, DebugTarget& target,
                                                    sandbox::ThreadKind confinement) {
    UniqueFd quit(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!quit.valid()) return make_error("gdb stub: eventfd: {}", std::strerror(errno));
    std::unique_ptr<GdbServer> s(new GdbServer(std::move(listener), target, std::move(quit), confinement));
    try {
        s->m_thread = std::thread([server = s.get()] { server->thread_main(); });
    } catch (const std::system_error& e) {
        return make_error("gdb stub: cannot start its thread: {}", e.what());
    }
    return s;
}

GdbServer::GdbServer(Listener listener, DebugTarget& target, UniqueFd quit, sandbox::ThreadKind confinement)
    : m_listener(std::move(listener)), m_target(target), m_quit(std::move(quit)), m_confinement(confinement) {}

GdbServer::~GdbServer() { stop(); }

void GdbServer::stop() {
    if (!m_thread.joinable()) return;
    const uint64_t one = 1;
    [[maybe_unused]] const auto n = ::write(m_quit.get(), &one, sizeof one);
    m_thread.join();
}

bool GdbServer::quit_requested() const {
    pollfd p{m_quit.get(), POLLIN, 0};
    return ::poll(&p, 1, 0) == 1;
}

void GdbServer::thread_main() {
    pthread_setname_np(pthread_self(), "trapeze-gdb");
    if (auto c = sandbox::confine_this_thread(m_confinement); !c) {
        fmt::print(stderr, "trapeze: gdb stub: {}\n", c.error().message);
        return;
    }
    while (!quit_requested()) {
        pollfd fds[2] = {{m_listener.fd(), POLLIN, 0}, {m_quit.get(), POLLIN, 0}};
        if (::poll(fds, 2, -1) < 0 && errno != EINTR) return;
        if ((fds[0].revents & POLLIN) == 0) continue;
        auto conn = m_listener.accept();
        if (!conn) {
            fmt::print(stderr, "trapeze: gdb stub: {}\n", conn.error().message);
            continue;
        }
        if (conn->valid()) serve(conn->get());
    }
}

// One gdb. Returns when it detaches, kills, goes away, or the server stops.
void GdbServer::serve(int conn) {
    Session session(m_target);
    PacketReader reader;
    std::string last_sent;
    for (;;) {
        pollfd fds[3] = {{m_target.stop_fd(), static_cast<short>(session.running() ? POLLIN : 0), 0},
                         {conn, POLLIN, 0},
                         {m_quit.get(), POLLIN, 0}};
        if (::poll(fds, 3, -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        // The target's stop first: the guest's end must reach gdb before stop() ends this.
        if ((fds[0].revents & POLLIN) != 0 && session.running()) {
            if (auto stop = m_target.take_stop()) {
                last_sent = encode_packet(session.on_stop(*stop));
                if (!send_all(conn, last_sent)) {
                    gone(session);
                    return;
                }
                if (session.finished()) return;
            }
            continue;
        }
        if ((fds[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
            if (!serve_input(conn, session, reader, last_sent)) return;
            continue;
        }
        if ((fds[2].revents & POLLIN) != 0) break;
    }
    session.on_disconnect();
}

// What gdb sent. False when the connection is over (the session is finished or detached).
bool GdbServer::serve_input(int conn, Session& session, PacketReader& reader, std::string& last_sent) {
    char buf[4096];
    const ssize_t n = ::read(conn, buf, sizeof buf);
    if (n < 0 && errno == EINTR) return true;
    if (n <= 0) return gone(session);
    reader.feed(std::string_view(buf, static_cast<size_t>(n)));
    while (auto ev = reader.next()) {
        switch (ev->kind) {
            case PacketEvent::Kind::Packet: {
                if (!session.no_ack() && !send_all(conn, "+")) return gone(session);
                // A reply of several packets (monitor output, then OK) is resent whole on a `-`.
                last_sent.clear();
                for (const std::string& reply : session.handle(ev->payload)) last_sent += encode_packet(reply);
                if (!send_all(conn, last_sent)) return gone(session);
                if (session.finished()) return false;
                break;
            }
            case PacketEvent::Kind::Interrupt:
                if (std::string reply = session.on_interrupt(); !reply.empty()) {
                    last_sent = encode_packet(reply);
                    if (!send_all(conn, last_sent)) return gone(session);
                }
                break;
            case PacketEvent::Kind::Nack:
                if (!last_sent.empty()) send_all(conn, last_sent);
                break;
            case PacketEvent::Kind::Bad:
                if (!session.no_ack()) send_all(conn, "-");
                break;
            case PacketEvent::Kind::Ack:
                break;
        }
    }
    return true;
}

}  // namespace trapeze::gdb
