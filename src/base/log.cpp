#include "base/log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/base_sink.h>

namespace trapeze::log {

void init(bool verbose) {
    auto logger = spdlog::stderr_color_mt("trapeze");
    logger->set_pattern("trapeze: %^%l%$: %v");
    spdlog::set_default_logger(logger);
    spdlog::set_level(verbose ? spdlog::level::debug : spdlog::level::warn);
}

namespace {

// Writes each formatted line to an fd opened without blocking (a named pipe nobody reads yet
// must not stop the VMM); a line that does not fit is lost, as with Firecracker's logger.
class FdSink final : public spdlog::sinks::base_sink<std::mutex> {
public:
    explicit FdSink(int fd) : m_fd(fd) {}
    ~FdSink() override { ::close(m_fd); }

protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
        spdlog::memory_buf_t buf;
        formatter_->format(msg, buf);
        [[maybe_unused]] const auto n = ::write(m_fd, buf.data(), buf.size());
    }
    void flush_() override {}

private:
    int m_fd;
};

}  // namespace

Result<void> to_file(const std::string& path, const std::string& level, bool show_level, const std::string& tag) {
    std::string lower = level;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    const auto lvl = lower == "error"   ? spdlog::level::err
                     : lower == "warning" ? spdlog::level::warn
                     : lower == "debug"   ? spdlog::level::debug
                     : lower == "trace"   ? spdlog::level::trace
                     : lower == "off"     ? spdlog::level::off
                                          : spdlog::level::info;
    std::shared_ptr<spdlog::logger> logger;
    if (path.empty()) {
        logger = spdlog::default_logger();
    } else {
        // O_RDWR: a named pipe opens without a reader (as Firecracker's logger does).
        const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_NONBLOCK | O_CLOEXEC, 0644);
        if (fd < 0) return make_error("logger: cannot open '{}': {}", path, std::strerror(errno));
        logger = std::make_shared<spdlog::logger>("trapeze", std::make_shared<FdSink>(fd));
        spdlog::set_default_logger(logger);
    }
    logger->set_pattern(fmt::format("%Y-%m-%dT%H:%M:%S.%F [{}:%t] {}%v", tag, show_level ? "%l: " : ""));
    logger->set_level(lvl);
    logger->flush_on(spdlog::level::trace);
    return ok();
}

}  // namespace trapeze::log
