// HttpResponse: what the API answers, and its HTTP/1.1 wire form.
//
// Firecracker's conventions: 204 with no body on success without content, 200 with a JSON
// body for GETs, 400 with {"fault_message": "..."} for a request the VMM refuses.
//
// Thread: any (plain values).
#pragma once

#include <string>
#include <string_view>

namespace trapeze::api {

struct HttpResponse {
    int status = 204;
    std::string body;  // JSON, empty for 204

    static HttpResponse no_content() { return {204, {}}; }
    static HttpResponse json(std::string body) { return {200, std::move(body)}; }
    // 400 (or `status`) with Firecracker's error object.
    static HttpResponse fault(std::string_view message, int status = 400);
};

// The response as sent on the connection; `close` adds "Connection: close".
std::string serialize(const HttpResponse& r, bool close);

}  // namespace trapeze::api
