#include "base/log.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>

namespace trapeze::log {

void init(bool verbose) {
    auto logger = spdlog::stderr_color_mt("trapeze");
    logger->set_pattern("trapeze: %^%l%$: %v");
    spdlog::set_default_logger(logger);
    spdlog::set_level(verbose ? spdlog::level::debug : spdlog::level::warn);
}

}  // namespace trapeze::log
