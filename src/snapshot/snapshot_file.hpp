// The snapshot state file: one versioned container of named sections, each the saved State
// of one component, written by SnapshotWriter and checked by parse_snapshot() before any
// component sees a byte of it.
//
//   offset 0   magic "TRAPSNAP"
//          8   u16 major version, u16 minor version (little-endian)
//         12   u32 number of sections
//         16   sections: u16 name length, name, u64 payload length, payload
//    end - 8   u64 CRC-64/XZ of every byte before it
//
// A reader refuses a newer major version (the layout of some State changed incompatibly);
// a newer minor version only adds sections, which older readers ignore. Guest RAM is not in
// here: it is the memory file (memory_file.hpp), mapped rather than read on restore.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "snapshot/state_stream.hpp"

namespace trapeze::snapshot {

inline constexpr char kMagic[8] = {'T', 'R', 'A', 'P', 'S', 'N', 'A', 'P'};
inline constexpr uint16_t kMajorVersion = 1;
inline constexpr uint16_t kMinorVersion = 0;
inline constexpr size_t kMaxStateFileBytes = size_t{64} << 20;  // far above any real machine's
inline constexpr size_t kMaxSectionName = 64;
inline constexpr uint32_t kMaxSections = 4096;

class SnapshotWriter {
public:
    // A new section; names must be unique (asserted).
    StateWriter& section(std::string name);
    // The whole file: header, sections in the order added, checksum.
    std::vector<uint8_t> serialize() const;
    // Writes it to `path` through a temporary file in the same directory renamed over it, so
    // a reader (or the running VM's own mapping) never sees a half-written file.
    Result<void> write_file(const std::string& path) const;

private:
    std::vector<std::pair<std::string, StateWriter>> m_sections;
};

class SnapshotContents {
public:
    uint16_t major = 0;
    uint16_t minor = 0;

    bool has(std::string_view name) const { return m_sections.count(std::string(name)) != 0; }
    // A reader over the section, or an error naming it if the file lacks it.
    Result<StateReader> section(std::string_view name) const;
    std::vector<std::string> names() const;

private:
    friend Result<SnapshotContents> parse_snapshot(std::span<const uint8_t> file);
    std::map<std::string, std::vector<uint8_t>, std::less<>> m_sections;
};

// Every snapshot's "machine" section starts with this, whatever the architecture, so a
// restore can tell which machine to build and how large its memory file must be before it
// reads anything else; the architecture's own description follows.
struct MachineHeader {
    std::string arch;  // "riscv64", "x86_64"
    uint32_t cpus = 0;
    uint64_t ram_size = 0;
};
void write_machine_header(StateWriter& w, const MachineHeader& h);
MachineHeader read_machine_header(StateReader& r);  // bad values fail the reader
Result<MachineHeader> peek_machine_header(const SnapshotContents& snap);

// Checks magic, version, checksum and framing; never trusts a length it has not bounded.
Result<SnapshotContents> parse_snapshot(std::span<const uint8_t> file);
Result<SnapshotContents> read_snapshot_file(const std::string& path);

}  // namespace trapeze::snapshot
