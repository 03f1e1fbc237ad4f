#include "api/http_response.hpp"

#include <boost/beast/http/status.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace trapeze::api {

HttpResponse HttpResponse::fault(std::string_view message, int status) {
    // The message may quote the request (its path), whose bytes need not be UTF-8.
    return {status, nlohmann::json{{"fault_message", message}}.dump(-1, ' ', false,
                                                                   nlohmann::json::error_handler_t::replace)};
}

std::string serialize(const HttpResponse& r, bool close) {
    const auto reason = boost::beast::http::obsolete_reason(static_cast<boost::beast::http::status>(r.status));
    std::string out = fmt::format("HTTP/1.1 {} {}\r\nServer: trapeze API\r\nConnection: {}\r\n", r.status,
                                  std::string_view(reason.data(), reason.size()), close ? "close" : "keep-alive");
    if (r.status == 204) return out + "\r\n";
    return out + fmt::format("Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{}", r.body.size(), r.body);
}

}  // namespace trapeze::api
