// Metrics: the VMM's counters, written as one JSON object per line to the file or named pipe
// of PUT /metrics, in Firecracker's shape where a counter has a Firecracker name
// ("api_server", "put_api_requests", "block", "net", "vcpu", "uart", ...). Each flush reports
// what each counter gained since the previous flush, as Firecracker's counters do, plus
// "utc_timestamp_ms".
//
// Counters come two ways: add() for events the VMM itself counts (API requests), and
// set_total() for a device's running total, read at flush time.
//
// Thread: any (one mutex; nothing here is on a hot path).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/result.hpp"
#include "base/unique_fd.hpp"

namespace trapeze::api {

class Metrics {
public:
    void add(std::string_view group, std::string_view name, uint64_t n = 1);
    void set_total(std::string_view group, std::string_view name, uint64_t total);

    // Opens (creating) the destination; a named pipe is opened without waiting for a reader.
    Result<void> open(const std::string& path);
    bool configured() const;
    // Writes one line of deltas. A full pipe or a failing file loses the line, not the VM.
    Result<void> flush();
    // The line flush() would write, and resets the deltas (for tests).
    nlohmann::json take();

private:
    struct Counter {
        uint64_t value = 0;     // running total
        uint64_t reported = 0;  // total at the previous flush
    };
    nlohmann::json take_locked();

    mutable std::mutex m_mutex;
    std::map<std::string, std::map<std::string, Counter, std::less<>>, std::less<>> m_groups;
    UniqueFd m_fd;
};

}  // namespace trapeze::api
