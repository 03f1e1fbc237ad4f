// Logging goes through spdlog to stderr, so that the guest console (stdout) stays clean.
#pragma once

#include <spdlog/spdlog.h>

namespace trapeze::log {

// Called once by the application; tests get spdlog's default logger.
void init(bool verbose);

}  // namespace trapeze::log
