#include "api/api_server.hpp"

#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

#include "base/log.hpp"

namespace trapeze::api {

namespace {

constexpr size_t kReadChunk = 16 * 1024;
// Responses are small; a client that never reads its answers is dropped past this.
constexpr size_t kMaxPendingOut = 1 << 20;

}  // namespace

Result<std::unique_ptr<ApiServer>> ApiServer::bind(const std::string& path, Handler handler, size_t max_body) {
    sockaddr_un addr{};
    if (path.empty() || path.size() >= sizeof addr.sun_path)
        return make_error("API socket path '{}' is empty or longer than {} bytes", path, sizeof addr.sun_path - 1);
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd.valid()) return make_error("cannot create the API socket: {}", std::strerror(errno));
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0)
        return make_error("cannot bind the API socket '{}': {}", path, std::strerror(errno));
    if (::listen(fd.get(), 64) != 0) {
        const int err = errno;
        ::unlink(path.c_str());
        return make_error("cannot listen on the API socket '{}': {}", path, std::strerror(err));
    }
    UniqueFd stop_fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!stop_fd.valid()) {
        const int err = errno;
        ::unlink(path.c_str());
        return make_error("cannot create an eventfd: {}", std::strerror(err));
    }
    return std::unique_ptr<ApiServer>(
        new ApiServer(path, std::move(fd), std::move(stop_fd), std::move(handler), max_body));
}

ApiServer::ApiServer(std::string path, UniqueFd listener, UniqueFd stop_fd, Handler handler, size_t max_body)
    : m_path(std::move(path)),
      m_listener(std::move(listener)),
      m_stop_fd(std::move(stop_fd)),
      m_handler(std::move(handler)),
      m_max_body(max_body) {}

ApiServer::~ApiServer() {
    if (!m_started) ::unlink(m_path.c_str());
    stop();
}

Result<void> ApiServer::start(ThreadStart on_start) {
    m_on_start = std::move(on_start);
    try {
        m_thread = std::thread([this] {
            serve();
            // The API thread removes its socket: the VMM thread's sandbox may not unlink.
            ::unlink(m_path.c_str());
        });
        m_started = true;
    } catch (const std::system_error& e) {
        return make_error("cannot start the API thread: {}", e.what());
    }
    return ok();
}

void ApiServer::stop() {
    if (!m_thread.joinable()) return;
    const uint64_t one = 1;
    [[maybe_unused]] const auto n = ::write(m_stop_fd.get(), &one, sizeof one);
    m_thread.join();
}

void ApiServer::serve() {
    pthread_setname_np(pthread_self(), "trapeze-api");
    if (m_on_start) {
        if (auto r = m_on_start(); !r) {
            spdlog::error("API thread: {}", r.error().message);
            return;
        }
    }
    std::vector<pollfd> fds;
    auto next_tick = Clock::now() + m_tick_period;
    for (;;) {
        fds.clear();
        fds.push_back({m_stop_fd.get(), POLLIN, 0});
        // When full, the listener is watched only once a connection may give way (longest_waiting).
        const bool room = m_connections.size() < kMaxConnections || longest_waiting().has_value();
        fds.push_back({m_listener.get(), static_cast<short>(room ? POLLIN : 0), 0});
        for (const auto& c : m_connections)
            fds.push_back({c->fd.get(), static_cast<short>(c->out.empty() ? POLLIN : POLLOUT), 0});
        if (::poll(fds.data(), fds.size(), poll_timeout(next_tick)) < 0 && errno != EINTR) {
            spdlog::error("API thread: poll failed: {}", std::strerror(errno));
            return;
        }
        if (fds[0].revents != 0) return;
        if (m_tick && Clock::now() >= next_tick) {
            m_tick();
            next_tick = Clock::now() + m_tick_period;
        }
        // Serve the connections first: accepting appends to m_connections.
        for (size_t i = fds.size() - 1; i >= 2; --i) {
            Connection& c = *m_connections[i - 2];
            const short ev = fds[i].revents;
            bool keep = true;
            if (c.draining) keep = (ev & (POLLIN | POLLHUP | POLLERR)) ? drain(c) : true;
            else if (ev & POLLOUT) keep = write_to(c);
            else if (ev & (POLLIN | POLLHUP | POLLERR)) keep = read_from(c);
            if (!keep) m_connections.erase(m_connections.begin() + static_cast<std::ptrdiff_t>(i - 2));
        }
        if (fds[1].revents & POLLIN) accept_all();
    }
}

void ApiServer::accept_all() {
    for (;;) {
        if (m_connections.size() == kMaxConnections) {
            const auto oldest = longest_waiting();
            if (!oldest) return;
            UniqueFd fd(::accept4(m_listener.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
            if (!fd.valid()) return;  // nobody waits after all: the stalled connection stays
            m_connections.erase(m_connections.begin() + static_cast<std::ptrdiff_t>(*oldest));
            m_connections.push_back(std::make_unique<Connection>(std::move(fd), m_max_body));
            continue;
        }
        UniqueFd fd(::accept4(m_listener.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
        if (!fd.valid()) return;  // EAGAIN, or a client that went away
        m_connections.push_back(std::make_unique<Connection>(std::move(fd), m_max_body));
    }
}

// The connection that has gone longest without completing a request, if that is kEvictAfter.
std::optional<size_t> ApiServer::longest_waiting() const {
    if (m_connections.empty()) return std::nullopt;
    size_t oldest = 0;
    for (size_t i = 1; i < m_connections.size(); ++i) {
        if (m_connections[i]->since < m_connections[oldest]->since) oldest = i;
    }
    if (Clock::now() - m_connections[oldest]->since < kEvictAfter) return std::nullopt;
    return oldest;
}

// Until the next tick, or (all places taken, none yet allowed to give way, so the listener is
// not watched) until the longest-waiting connection may give way.
int ApiServer::poll_timeout(Clock::time_point next_tick) const {
    std::optional<Clock::time_point> wake;
    if (m_tick) wake = next_tick;
    if (m_connections.size() == kMaxConnections && !longest_waiting()) {
        Clock::time_point evictable = Clock::time_point::max();
        for (const auto& c : m_connections) evictable = std::min(evictable, c->since + kEvictAfter);
        wake = wake ? std::min(*wake, evictable) : evictable;
    }
    if (!wake) return -1;
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(*wake - Clock::now());
    return static_cast<int>(std::clamp<int64_t>(left.count(), 0, 60'000));
}

// False when the connection is done (closed by the client, or after a fatal error).
bool ApiServer::read_from(Connection& c) {
    char buf[kReadChunk];
    const ssize_t n = ::read(c.fd.get(), buf, sizeof buf);
    if (n == 0) return false;
    if (n < 0) return errno == EAGAIN || errno == EINTR;
    c.reader.feed(std::string_view(buf, static_cast<size_t>(n)));
    answer(c);
    return write_to(c);
}

// Answers every complete request read so far, in order.
void ApiServer::answer(Connection& c) {
    while (!c.closing) {
        const auto st = c.reader.next();
        if (st == HttpRequestReader::Status::NeedMore) return;
        if (st == HttpRequestReader::Status::Bad) {
            c.out += serialize(HttpResponse::fault(c.reader.error()), true);
            c.closing = true;
            return;
        }
        const HttpRequest req = c.reader.take();
        c.out += serialize(m_handler(req), !req.keep_alive);
        c.since = Clock::now();
        if (!req.keep_alive) c.closing = true;
        if (c.out.size() > kMaxPendingOut) {  // a client that never reads
            c.closing = true;
            c.out.clear();
        }
    }
}

bool ApiServer::write_to(Connection& c) {
    while (!c.out.empty()) {
        const ssize_t n = ::send(c.fd.get(), c.out.data(), c.out.size(), MSG_NOSIGNAL);
        if (n < 0) return errno == EAGAIN || errno == EINTR;
        c.out.erase(0, static_cast<size_t>(n));
    }
    if (c.closing) {
        if (c.reader.next() != HttpRequestReader::Status::Bad) return false;
        c.draining = true;
        return true;
    }
    // Requests that arrived behind the one just answered.
    if (c.reader.pending() != 0) {
        answer(c);
        if (!c.out.empty()) return write_to(c);
    }
    return true;
}

bool ApiServer::drain(Connection& c) {
    char buf[kReadChunk];
    const ssize_t n = ::read(c.fd.get(), buf, sizeof buf);
    if (n < 0) return errno == EAGAIN || errno == EINTR;
    c.drained += static_cast<size_t>(n);
    return n > 0 && c.drained < kMaxDrain;
}

}  // namespace trapeze::api
