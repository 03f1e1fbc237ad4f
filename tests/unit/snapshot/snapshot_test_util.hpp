// Helpers shared by the snapshot tests: a temporary directory, whole-file I/O, and editing a
// state file below the container's checks (its sections split out and joined again, the
// checksum recomputed) so a test can damage exactly one thing at a time.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "base/bits.hpp"
#include "snapshot/crc64.hpp"
#include "snapshot/snapshot_file.hpp"

namespace trapeze::snapshot::test {

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it.
class TempDir {
public:
    TempDir() {
        const char* base = std::getenv("TMPDIR");
        std::string tmpl = std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/trapeze-snap-XXXXXX";
        if (::mkdtemp(tmpl.data()) == nullptr) ADD_FAILURE() << "mkdtemp: " << std::strerror(errno);
        m_path = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(m_path, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    std::string path(const std::string& name) const { return m_path + "/" + name; }
    const std::string& root() const { return m_path; }

private:
    std::string m_path;
};

inline void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ASSERT_GE(fd, 0) << path << ": " << std::strerror(errno);
    ASSERT_EQ(::write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
    ::close(fd);
}

inline std::vector<uint8_t> read_bytes(const std::string& path) {
    std::vector<uint8_t> out;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        ADD_FAILURE() << path << ": " << std::strerror(errno);
        return out;
    }
    uint8_t buf[65536];
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) out.insert(out.end(), buf, buf + n);
    ::close(fd);
    return out;
}

inline std::vector<uint8_t> bytes_of(std::string_view s) { return {s.begin(), s.end()}; }

// Recomputes the trailing CRC-64 after an edit, so the parser gets past the checksum to the
// check the test is about.
inline void reseal(std::vector<uint8_t>& file) {
    if (file.size() < 8) return;
    const uint64_t crc = crc64({file.data(), file.size() - 8});
    store_le<uint64_t>(file.data() + file.size() - 8, crc);
}

using Sections = std::vector<std::pair<std::string, std::vector<uint8_t>>>;

// The sections of a well-formed state file, in file order (the layout snapshot_file.hpp
// documents; no checks: the file is one the test made).
inline Sections split_sections(const std::vector<uint8_t>& file) {
    Sections out;
    const uint32_t count = load_le<uint32_t>(file.data() + 12);
    size_t at = 16;
    for (uint32_t i = 0; i < count; ++i) {
        const uint16_t name_len = load_le<uint16_t>(file.data() + at);
        std::string name(reinterpret_cast<const char*>(file.data() + at + 2), name_len);
        at += 2 + name_len;
        const auto len = static_cast<size_t>(load_le<uint64_t>(file.data() + at));
        at += 8;
        out.emplace_back(std::move(name), std::vector<uint8_t>(file.begin() + static_cast<ptrdiff_t>(at),
                                                               file.begin() + static_cast<ptrdiff_t>(at + len)));
        at += len;
    }
    return out;
}

inline std::vector<uint8_t> join_sections(const Sections& sections) {
    SnapshotWriter w;
    for (const auto& [name, payload] : sections) w.section(name).raw(payload);
    return w.serialize();
}

inline std::vector<uint8_t>* find_section(Sections& sections, const std::string& name) {
    for (auto& [n, payload] : sections)
        if (n == name) return &payload;
    return nullptr;
}

// Whether a Result failed with a message containing `needle` (for EXPECT_TRUE with the message).
template <typename R>
::testing::AssertionResult fails_with(const R& r, const std::string& needle) {
    if (r.ok()) return ::testing::AssertionFailure() << "succeeded; expected an error containing '" << needle << "'";
    if (r.error().message.find(needle) == std::string::npos)
        return ::testing::AssertionFailure() << "error '" << r.error().message << "' does not contain '" << needle << "'";
    return ::testing::AssertionSuccess();
}

}  // namespace trapeze::snapshot::test
