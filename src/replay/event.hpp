// The events of a replay log: what came into the machine from outside (and the checks and
// marks replay needs), each at the global instruction count at which it is delivered.
//
// Kinds have fixed values (they are in files). A kind with kOptionalKindBit set may be skipped
// by a reader that does not know it (a later minor version's annotation); a reader refuses any
// other kind it does not know. check_payload() holds each kind's payload rule, which the writer
// keeps and the reader checks, so a consumer may decode a payload the reader returned without
// checking its length again.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "base/result.hpp"

namespace trapeze::replay {

inline constexpr uint16_t kOptionalKindBit = 0x8000;
inline constexpr size_t kMaxCheckpointName = 4096;  // PATH_MAX

enum class EventKind : uint16_t {
    ConsoleInput = 1,  // bytes the host console handed the guest; any length
    NetFrame = 2,      // one frame the NIC `source` received; any length
    DiskRead = 3,      // u64 byte offset, then the data the disk `source` returned (a read
                       // larger than kMaxPayload - 8 is several events at one count)
    DiskChecksum = 4,  // DiskChecksum: the disk `source` at the start (instead of its reads)
    Entropy = 5,       // bytes the host's entropy source gave virtio-rng `source`; any length
    Clock = 6,         // ClockReading: a host clock read, or a warp of the guest clock
    Checkpoint = 7,    // the name or path of the snapshot taken at this count (1..4096 bytes)
    OutputCheck = 8,   // OutputCheck: the console output so far, for divergence detection
    End = 9,           // EndRecord: the last event of a finished log (LogWriter::finish)
};

// One event. A reader's payload stays valid until its next call.
struct Event {
    uint64_t icount = 0;
    EventKind kind = EventKind::ConsoleInput;
    uint16_t source = 0;
    std::span<const uint8_t> payload;
};

// "console input", "network frame", ...; "unknown" for a value that is not a kind.
std::string_view kind_name(EventKind kind);
bool is_known_kind(uint16_t kind);
// Ok if `bytes` is a valid payload length for the known kind.
Result<void> check_payload(EventKind kind, size_t bytes);

// clock: `value` is the reading (or a warp's new guest time); `extra` is the second value a
// source may need, else 0. Which clock and which unit is the source's (the recorder's table).
struct ClockReading {
    static constexpr size_t kBytes = 16;
    uint64_t value = 0;
    uint64_t extra = 0;
    std::array<uint8_t, kBytes> encode() const;
    static ClockReading decode(std::span<const uint8_t> payload);
};

// output_check: a running hash of everything the guest wrote to its console up to this count
// (the recorder's hash; replay computes the same and compares) and the number of bytes.
struct OutputCheck {
    static constexpr size_t kBytes = 16;
    uint64_t hash = 0;
    uint64_t bytes = 0;
    std::array<uint8_t, kBytes> encode() const;
    static OutputCheck decode(std::span<const uint8_t> payload);
};

// disk_checksum: the disk's size and a checksum of its contents (the recorder's, CRC-64/XZ).
struct DiskChecksum {
    static constexpr size_t kBytes = 16;
    uint64_t size = 0;
    uint64_t checksum = 0;
    std::array<uint8_t, kBytes> encode() const;
    static DiskChecksum decode(std::span<const uint8_t> payload);
};

// disk_read's payload: where on the disk, and the bytes.
struct DiskRead {
    uint64_t offset = 0;
    std::span<const uint8_t> data;
    static DiskRead decode(std::span<const uint8_t> payload);
};

// The end of a finished recording: the final instruction count and console output. On file the
// payload also holds the number of events before it, which the reader checks.
struct EndRecord {
    static constexpr size_t kPayloadBytes = 24;  // output hash, output bytes, events before it
    uint64_t icount = 0;
    uint64_t output_hash = 0;
    uint64_t output_bytes = 0;
};

}  // namespace trapeze::replay
