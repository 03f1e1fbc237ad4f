// The replay log's bytes: the file header, the chunk header and the event framing, their
// limits, and the encoders and checks LogWriter and LogReader share (docs/replay.md has the
// same layout with the reasons for each limit). Every integer is little-endian.
//
//   file header
//     0      magic "TRAPRLOG"
//     8      u16 major version, u16 minor version
//     12     u32 body length B (at most kMaxHeaderBody)
//     16     body: u64 start instruction count, u64 guest time rate, u32 description length D
//            (at most kMaxDescription), D bytes machine description; a later minor version
//            may add fields after these, which older readers skip
//     16+B   u64 CRC-64/XZ of bytes 0 .. 16+B
//   chunks, back to back from 24+B to the end of the file
//     0      magic "CHNK"
//     4      u32 index (0, 1, 2, ... in file order)
//     8      u32 event count (at least 1)
//     12     u32 event bytes U, uncompressed (at least kEventHeaderBytes, at most kMaxChunkBytes)
//     16     u32 compressed bytes C (at least 1, at most kMaxCompressedBytes)
//     20     u32 reserved, 0
//     24     u64 instruction count of the chunk's first event
//     32     u64 instruction count of its last event
//     40     u64 CRC-64/XZ of the C compressed bytes
//     48     u64 CRC-64/XZ of bytes 0 .. 48 of this header
//     56     C bytes: one zstd frame that declares its content size, U
//   events, back to back in a chunk's U bytes
//     0      u64 instruction count (never below the event before it, in this chunk or the last)
//     8      u16 kind (EventKind; bit 15 set: optional, see kOptionalKindBit)
//     10     u16 source (which device, hart or slot; the recorder's numbering)
//     12     u32 payload length L (at most kMaxPayload)
//     16     L bytes payload
//
// Versioning: a reader refuses a major version other than its own (a newer one first of all:
// its layout may differ from offset 12 on). A newer minor version may only add header fields
// after the known ones and optional event kinds, which this reader skips; anything else needs
// a new major version.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "base/result.hpp"

namespace trapeze::replay {

inline constexpr char kMagic[8] = {'T', 'R', 'A', 'P', 'R', 'L', 'O', 'G'};
inline constexpr char kChunkMagic[4] = {'C', 'H', 'N', 'K'};
inline constexpr uint16_t kMajorVersion = 1;
inline constexpr uint16_t kMinorVersion = 0;

inline constexpr size_t kHeaderPrefixBytes = 16;  // magic, versions, body length
inline constexpr size_t kHeaderFixedBody = 20;    // start icount, time rate, description length
inline constexpr size_t kChecksumBytes = 8;
// The machine description: checksums of kernel, initrd and disks, RAM size, harts, devices.
inline constexpr size_t kMaxDescription = size_t{64} * 1024;
// Room for the fields later minor versions add.
inline constexpr size_t kMaxHeaderBody = kHeaderFixedBody + kMaxDescription + 4096;

inline constexpr size_t kChunkHeaderBytes = 56;
inline constexpr size_t kEventHeaderBytes = 16;
// 64 KiB of data (the TAP backend's largest read, a virtio-rng request's largest) and 64 bytes
// for a kind's own fields in front of it (a disk read's offset).
inline constexpr size_t kMaxPayload = size_t{64} * 1024 + 64;
inline constexpr size_t kMaxEventBytes = kEventHeaderBytes + kMaxPayload;
// A reader holds one chunk, compressed and not: this bounds its memory whatever the file says.
inline constexpr size_t kMaxChunkBytes = size_t{256} * 1024;
// Above zstd's worst case for kMaxChunkBytes (ZSTD_COMPRESSBOUND: +1/256 and a few bytes).
inline constexpr size_t kMaxCompressedBytes = kMaxChunkBytes + kMaxChunkBytes / 128;
inline constexpr size_t kDefaultChunkBytes = size_t{128} * 1024;
static_assert(kMaxEventBytes <= kMaxChunkBytes, "any event must fit a chunk of its own");

struct LogVersion {
    uint16_t major = kMajorVersion;
    uint16_t minor = kMinorVersion;
};

// What the recorder says about the recording; the log stores it and gives it back.
struct Header {
    uint64_t start_icount = 0;  // the global instruction count the recording starts at
    // How guest time advances with retired instructions, in the recorder's fixed-point unit
    // (replay must run at the same rate); never interpreted here.
    uint64_t guest_time_rate = 0;
    // The recorder's description of the machine (kernel, initrd and disk checksums, RAM size,
    // harts, devices) so that replay can refuse another machine; opaque here.
    std::vector<uint8_t> machine;
};

// The file header, checksum included. machine.size() must be at most kMaxDescription.
std::vector<uint8_t> encode_header(const Header& h, LogVersion version = {});
// The body length from the 16-byte prefix, after checking magic, major version and bound.
Result<uint32_t> check_header_prefix(std::span<const uint8_t, kHeaderPrefixBytes> prefix, LogVersion* version);
// The rest of the header (body and checksum, from offset 16), checked against the prefix.
Result<Header> decode_header(std::span<const uint8_t, kHeaderPrefixBytes> prefix, std::span<const uint8_t> rest,
                             LogVersion version);

struct ChunkHeader {
    uint32_t index = 0;
    uint32_t events = 0;
    uint32_t event_bytes = 0;       // U
    uint32_t compressed_bytes = 0;  // C
    uint64_t first_icount = 0;
    uint64_t last_icount = 0;
    uint64_t data_crc = 0;  // of the C compressed bytes
};

// Fills out with the header, its own checksum last.
void encode_chunk_header(const ChunkHeader& c, std::span<uint8_t, kChunkHeaderBytes> out);
// Checks magic, checksum, the reserved field and every bound above; says what is wrong.
Result<ChunkHeader> decode_chunk_header(std::span<const uint8_t, kChunkHeaderBytes> in);

struct EventHeader {
    uint64_t icount = 0;
    uint16_t kind = 0;
    uint16_t source = 0;
    uint32_t payload_bytes = 0;
};
void encode_event_header(const EventHeader& e, std::span<uint8_t, kEventHeaderBytes> out);
EventHeader decode_event_header(std::span<const uint8_t, kEventHeaderBytes> in);

}  // namespace trapeze::replay
