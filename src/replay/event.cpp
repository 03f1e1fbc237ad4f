#include "replay/event.hpp"

#include <cassert>

#include "base/bits.hpp"
#include "replay/log_format.hpp"

namespace trapeze::replay {

namespace {

template <size_t N>
std::array<uint8_t, N> pack(uint64_t a, uint64_t b) {
    static_assert(N == 16);
    std::array<uint8_t, N> out{};
    store_le<uint64_t>(out.data(), a);
    store_le<uint64_t>(out.data() + 8, b);
    return out;
}

uint64_t field(std::span<const uint8_t> payload, size_t at) {
    assert(payload.size() >= at + 8);
    return load_le<uint64_t>(payload.data() + at);
}

Result<void> exactly(EventKind kind, size_t bytes, size_t want) {
    if (bytes == want) return ok();
    return make_error("a {} event's payload is {} bytes; it must be {}", kind_name(kind), bytes, want);
}

}  // namespace

std::string_view kind_name(EventKind kind) {
    switch (kind) {
        case EventKind::ConsoleInput:
            return "console input";
        case EventKind::NetFrame:
            return "network frame";
        case EventKind::DiskRead:
            return "disk read";
        case EventKind::DiskChecksum:
            return "disk checksum";
        case EventKind::Entropy:
            return "entropy";
        case EventKind::Clock:
            return "clock";
        case EventKind::Checkpoint:
            return "checkpoint";
        case EventKind::OutputCheck:
            return "output check";
        case EventKind::End:
            return "end";
    }
    return "unknown";
}

bool is_known_kind(uint16_t kind) {
    return kind >= 1 && kind <= static_cast<uint16_t>(EventKind::End);
}

Result<void> check_payload(EventKind kind, size_t bytes) {
    if (bytes > kMaxPayload)
        return make_error("a {} event's payload is {} bytes, more than {}", kind_name(kind), bytes, kMaxPayload);
    switch (kind) {
        case EventKind::ConsoleInput:
        case EventKind::NetFrame:
        case EventKind::Entropy:
            return ok();
        case EventKind::DiskRead:
            if (bytes >= 8) return ok();
            return make_error("a disk read event's payload is {} bytes, shorter than its 8-byte offset", bytes);
        case EventKind::DiskChecksum:
            return exactly(kind, bytes, DiskChecksum::kBytes);
        case EventKind::Clock:
            return exactly(kind, bytes, ClockReading::kBytes);
        case EventKind::Checkpoint:
            if (bytes >= 1 && bytes <= kMaxCheckpointName) return ok();
            return make_error("a checkpoint event's name is {} bytes; it must be 1 to {}", bytes, kMaxCheckpointName);
        case EventKind::OutputCheck:
            return exactly(kind, bytes, OutputCheck::kBytes);
        case EventKind::End:
            return exactly(kind, bytes, EndRecord::kPayloadBytes);
    }
    return make_error("event kind {:#06x} is not one this trapeze knows", static_cast<uint16_t>(kind));
}

std::array<uint8_t, ClockReading::kBytes> ClockReading::encode() const {
    return pack<kBytes>(value, extra);
}
ClockReading ClockReading::decode(std::span<const uint8_t> payload) {
    return {field(payload, 0), field(payload, 8)};
}

std::array<uint8_t, OutputCheck::kBytes> OutputCheck::encode() const {
    return pack<kBytes>(hash, bytes);
}
OutputCheck OutputCheck::decode(std::span<const uint8_t> payload) {
    return {field(payload, 0), field(payload, 8)};
}

std::array<uint8_t, DiskChecksum::kBytes> DiskChecksum::encode() const {
    return pack<kBytes>(size, checksum);
}
DiskChecksum DiskChecksum::decode(std::span<const uint8_t> payload) {
    return {field(payload, 0), field(payload, 8)};
}

DiskRead DiskRead::decode(std::span<const uint8_t> payload) {
    return {field(payload, 0), payload.subspan(8)};
}

}  // namespace trapeze::replay
