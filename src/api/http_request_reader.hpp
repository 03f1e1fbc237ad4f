// HttpRequestReader: turns the bytes of one API connection into HTTP/1.1 requests, with the
// limits Firecracker's API server applies: a request body of at most `max_body` bytes
// (Firecracker's default is 51200, `--http-api-max-payload-size`), headers of at most 8 KiB.
//
// The parsing is Boost.Beast's (boost::beast::http::request_parser): it is incremental and
// fed from a buffer, so the API thread stays one poll(2) loop, and the fuzz target feeds it
// exactly as the socket does.
//
// Thread: one connection's, not shared.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace trapeze::api {

struct HttpRequest {
    std::string method;  // as sent ("GET", "PUT", ...)
    std::string path;    // the target without a query string
    std::string body;
    bool keep_alive = true;
};

class HttpRequestReader {
public:
    static constexpr size_t kDefaultMaxBody = 51200;
    static constexpr size_t kMaxHeader = 8 * 1024;

    explicit HttpRequestReader(size_t max_body = kDefaultMaxBody);
    ~HttpRequestReader();
    HttpRequestReader(const HttpRequestReader&) = delete;
    HttpRequestReader& operator=(const HttpRequestReader&) = delete;

    enum class Status { NeedMore, Ready, Bad };

    // Appends received bytes. Bytes past the end of one request wait for the next.
    void feed(std::string_view bytes);
    // Parses what was fed: Ready once a whole request is there (take() it), Bad if the bytes
    // are not an acceptable HTTP/1.x request (error() says why; the connection cannot go on).
    Status next();
    HttpRequest take();
    const std::string& error() const { return m_error; }
    // Bytes fed but not yet parsed (bounded by the limits: a connection that sends more is Bad).
    size_t pending() const { return m_buffer.size(); }

private:
    struct Parser;
    void reset_parser();

    const size_t m_max_body;
    std::string m_buffer;
    std::unique_ptr<Parser> m_parser;
    std::optional<HttpRequest> m_ready;
    std::string m_error;
};

}  // namespace trapeze::api
