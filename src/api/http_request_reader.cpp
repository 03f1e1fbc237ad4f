#include "api/http_request_reader.hpp"

#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <fmt/format.h>

namespace trapeze::api {

namespace http = boost::beast::http;

struct HttpRequestReader::Parser {
    http::request_parser<http::string_body> p;
};

HttpRequestReader::HttpRequestReader(size_t max_body) : m_max_body(max_body) { reset_parser(); }

HttpRequestReader::~HttpRequestReader() = default;

void HttpRequestReader::reset_parser() {
    m_parser = std::make_unique<Parser>();
    m_parser->p.header_limit(kMaxHeader);
    m_parser->p.body_limit(m_max_body);
    m_parser->p.eager(true);
}

void HttpRequestReader::feed(std::string_view bytes) { m_buffer.append(bytes); }

namespace {

std::string describe(const boost::system::error_code& ec, size_t max_body) {
    if (ec == http::error::body_limit)
        return fmt::format("Request payload is larger than the limit of {} bytes allowed by the server", max_body);
    if (ec == http::error::header_limit)
        return fmt::format("Request headers are larger than the limit of {} bytes", HttpRequestReader::kMaxHeader);
    return fmt::format("Invalid HTTP request: {}", ec.message());
}

}  // namespace

HttpRequestReader::Status HttpRequestReader::next() {
    if (!m_error.empty()) return Status::Bad;
    if (m_ready) return Status::Ready;
    while (!m_buffer.empty() && !m_parser->p.is_done()) {
        boost::system::error_code ec;
        const size_t used = m_parser->p.put(boost::asio::const_buffer(m_buffer.data(), m_buffer.size()), ec);
        m_buffer.erase(0, used);
        if (ec == http::error::need_more) break;
        if (ec) {
            m_error = describe(ec, m_max_body);
            return Status::Bad;
        }
        if (used == 0) break;
    }
    if (!m_parser->p.is_done()) return Status::NeedMore;
    auto msg = m_parser->p.release();
    HttpRequest r;
    r.method = std::string(msg.method_string());
    const std::string_view target(msg.target().data(), msg.target().size());
    r.path = std::string(target.substr(0, target.find('?')));
    r.body = std::move(msg.body());
    r.keep_alive = msg.keep_alive();
    m_ready = std::move(r);
    reset_parser();
    return Status::Ready;
}

HttpRequest HttpRequestReader::take() {
    HttpRequest r = std::move(*m_ready);
    m_ready.reset();
    return r;
}

}  // namespace trapeze::api
