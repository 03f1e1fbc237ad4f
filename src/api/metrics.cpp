#include "api/metrics.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace trapeze::api {

void Metrics::add(std::string_view group, std::string_view name, uint64_t n) {
    std::lock_guard lock(m_mutex);
    auto g = m_groups.try_emplace(std::string(group)).first;
    g->second[std::string(name)].value += n;
}

void Metrics::set_total(std::string_view group, std::string_view name, uint64_t total) {
    std::lock_guard lock(m_mutex);
    auto g = m_groups.try_emplace(std::string(group)).first;
    g->second[std::string(name)].value = total;
}

Result<void> Metrics::open(const std::string& path) {
    if (path.empty()) return make_error("metrics: the path is empty");
    // O_RDWR: opening a FIFO for writing alone fails (ENXIO) while nobody reads it.
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_NONBLOCK | O_CLOEXEC, 0644));
    if (!fd.valid()) return make_error("metrics: cannot open '{}': {}", path, std::strerror(errno));
    std::lock_guard lock(m_mutex);
    m_fd = std::move(fd);
    return ok();
}

bool Metrics::configured() const {
    std::lock_guard lock(m_mutex);
    return m_fd.valid();
}

nlohmann::json Metrics::take_locked() {
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    nlohmann::json j{{"utc_timestamp_ms", std::chrono::duration_cast<std::chrono::milliseconds>(now).count()}};
    for (auto& [group, counters] : m_groups) {
        nlohmann::json g = nlohmann::json::object();
        for (auto& [name, c] : counters) {
            g[name] = c.value - c.reported;
            c.reported = c.value;
        }
        j[group] = g;
    }
    return j;
}

nlohmann::json Metrics::take() {
    std::lock_guard lock(m_mutex);
    return take_locked();
}

Result<void> Metrics::flush() {
    std::lock_guard lock(m_mutex);
    if (!m_fd.valid()) return make_error("metrics are not configured (PUT /metrics first)");
    const std::string line = take_locked().dump() + "\n";
    if (::write(m_fd.get(), line.data(), line.size()) != static_cast<ssize_t>(line.size()))
        return make_error("metrics: writing failed: {}", std::strerror(errno));
    return ok();
}

}  // namespace trapeze::api
