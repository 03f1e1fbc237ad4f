// Logging goes through spdlog to stderr, so that the guest console (stdout) stays clean.
#pragma once

#include <string>

#include <spdlog/spdlog.h>

#include "base/result.hpp"

namespace trapeze::log {

// Called once by the application; tests get spdlog's default logger.
void init(bool verbose);

// Firecracker's PUT /logger: the log goes to `path` (a file or named pipe; empty: stay on
// stderr) from `level` (Error, Warning, Info, Debug, Trace, Off, any case) up, each line
// prefixed with the time and `tag`, and the level if asked. Returns an error naming the path.
Result<void> to_file(const std::string& path, const std::string& level, bool show_level, const std::string& tag);

}  // namespace trapeze::log
