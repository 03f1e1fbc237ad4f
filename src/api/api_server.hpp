// ApiServer: HTTP/1.1 on a unix socket, served by one thread ("trapeze-api") in a poll(2)
// loop, the way Firecracker's API thread serves its socket. Each complete request goes to the
// handler, whose response is written back in order; a connection may carry many requests
// (keep-alive). A malformed request gets a 400 and its connection is closed; nothing a client
// sends can make the server hold more than the reader's limits per connection, or more than
// kMaxConnections connections. With every place taken and another client waiting, the
// connection that has gone longest without completing a request gives way to it, once that is
// kEvictAfter: clients that connect and stall (or trickle a request byte by byte) cannot lock the
// others out, and a client between requests reconnects as HTTP clients do after a server closed
// an idle keep-alive connection.
//
// Thread: bind(), start(), stop() and the destructor on the owner's thread; the handler runs
// on the API thread.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "api/http_request_reader.hpp"
#include "api/http_response.hpp"
#include "base/result.hpp"
#include "base/unique_fd.hpp"

namespace trapeze::api {

class ApiServer {
public:
    using Handler = std::function<HttpResponse(const HttpRequest&)>;
    // Called on the API thread before it serves anything (the sandbox goes on there).
    using ThreadStart = std::function<Result<void>()>;
    static constexpr size_t kMaxConnections = 32;
    static constexpr size_t kMaxDrain = 1 << 20;
    static constexpr std::chrono::milliseconds kEvictAfter{1000};

    // Creates and listens on the socket at `path`; refuses a path that exists (as Firecracker
    // does: a stale socket is the operator's to remove).
    static Result<std::unique_ptr<ApiServer>> bind(const std::string& path, Handler handler,
                                                   size_t max_body = HttpRequestReader::kDefaultMaxBody);
    ~ApiServer();  // stop(); the socket file is removed (by the API thread once it has run)
    ApiServer(const ApiServer&) = delete;
    ApiServer& operator=(const ApiServer&) = delete;

    // `tick` runs on the API thread every `period` while the server runs (metrics flushes).
    void set_tick(std::chrono::milliseconds period, std::function<void()> tick) {
        m_tick_period = period;
        m_tick = std::move(tick);
    }
    Result<void> start(ThreadStart on_start = {});
    void stop();
    const std::string& path() const { return m_path; }

private:
    using Clock = std::chrono::steady_clock;
    struct Connection {
        UniqueFd fd;
        Clock::time_point since = Clock::now();  // accepted, or its last request answered
        HttpRequestReader reader;
        std::string out;      // response bytes not yet written
        bool closing = false;  // close once `out` is written
        // After a refused request: the answer is out (its Content-Length ends it); what the client still
        // sends (the rest of an oversized body) is read and dropped, so that it sees the 400
        // instead of a reset, up to kMaxDrain bytes.
        bool draining = false;
        size_t drained = 0;
        explicit Connection(UniqueFd f, size_t max_body) : fd(std::move(f)), reader(max_body) {}
    };

    ApiServer(std::string path, UniqueFd listener, UniqueFd stop_fd, Handler handler, size_t max_body);
    void serve();
    void accept_all();
    std::optional<size_t> longest_waiting() const;
    int poll_timeout(Clock::time_point next_tick) const;
    bool read_from(Connection& c);
    void answer(Connection& c);
    bool write_to(Connection& c);
    bool drain(Connection& c);

    std::string m_path;
    UniqueFd m_listener;
    UniqueFd m_stop_fd;  // eventfd
    Handler m_handler;
    size_t m_max_body;
    std::vector<std::unique_ptr<Connection>> m_connections;  // API thread only
    std::thread m_thread;
    bool m_started = false;  // the API thread owns removing the socket from then on
    ThreadStart m_on_start;
    std::chrono::milliseconds m_tick_period{0};
    std::function<void()> m_tick;
};

}  // namespace trapeze::api
