// Whole-file reads for loaders (kernel, firmware, initrd are small enough).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.hpp"

namespace trapeze {

Result<std::vector<uint8_t>> read_file(const std::string& path);

}  // namespace trapeze
