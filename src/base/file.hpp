// Whole-file reads for loaders. read_file() returns a copy; read_file_into() puts a file's
// bytes straight where they belong (a kernel or initrd into guest RAM: tens of MiB that would
// otherwise be zero-filled, read and copied once more).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "base/unique_fd.hpp"

namespace trapeze {

// Opens path for reading, which must be a regular file (a FIFO or device is refused, never
// waited on); its size in *size.
Result<UniqueFd> open_regular(const std::string& path, uint64_t* size);

// A regular file only (a FIFO or device is refused, never waited on), of at most max_bytes.
Result<std::vector<uint8_t>> read_file(const std::string& path, uint64_t max_bytes = UINT64_MAX);

// Reads from fd's position until out is full or the file ends: the number of bytes read
// (`path` names the file in the message of a failed read).
Result<size_t> read_up_to(const UniqueFd& fd, const std::string& path, std::span<uint8_t> out);

// The size of the regular file at path.
Result<uint64_t> file_size(const std::string& path);

// Fills out with the file's first out.size() bytes; an error if the file is shorter. From
// 8 MiB on, the upper half is read on a thread of its own at the same time (file.cpp).
Result<void> read_file_into(const std::string& path, std::span<uint8_t> out);

}  // namespace trapeze
