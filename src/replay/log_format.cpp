#include "replay/log_format.hpp"

#include <cassert>
#include <cstring>

#include "base/bits.hpp"
#include "snapshot/crc64.hpp"
#include "snapshot/state_stream.hpp"

namespace trapeze::replay {

namespace {

constexpr uint64_t kChunkHeaderCrcAt = kChunkHeaderBytes - kChecksumBytes;

}  // namespace

std::vector<uint8_t> encode_header(const Header& h, LogVersion version) {
    assert(h.machine.size() <= kMaxDescription);
    snapshot::StateWriter w;
    w.raw({reinterpret_cast<const uint8_t*>(kMagic), sizeof kMagic});
    w.u16(version.major);
    w.u16(version.minor);
    w.u32(static_cast<uint32_t>(kHeaderFixedBody + h.machine.size()));
    w.u64(h.start_icount);
    w.u64(h.guest_time_rate);
    w.bytes(h.machine);
    w.u64(snapshot::crc64(w.data()));
    return w.take();
}

Result<uint32_t> check_header_prefix(std::span<const uint8_t, kHeaderPrefixBytes> prefix, LogVersion* version) {
    if (std::memcmp(prefix.data(), kMagic, sizeof kMagic) != 0)
        return make_error("not a trapeze replay log (bad magic)");
    version->major = load_le<uint16_t>(prefix.data() + 8);
    version->minor = load_le<uint16_t>(prefix.data() + 10);
    // Checked before anything else: a newer major version's layout may differ from here on.
    if (version->major > kMajorVersion)
        return make_error("replay log format version {}.{} is newer than this trapeze reads ({}.{})", version->major,
                          version->minor, kMajorVersion, kMinorVersion);
    if (version->major != kMajorVersion)
        return make_error("replay log format version {}.{} is not one this trapeze reads ({}.x)", version->major,
                          version->minor, kMajorVersion);
    const uint32_t body = load_le<uint32_t>(prefix.data() + 12);
    if (body < kHeaderFixedBody || body > kMaxHeaderBody)
        return make_error("the header's length is {} bytes; it must be {} to {}", body, kHeaderFixedBody,
                          kMaxHeaderBody);
    return body;
}

Result<Header> decode_header(std::span<const uint8_t, kHeaderPrefixBytes> prefix, std::span<const uint8_t> rest,
                             LogVersion version) {
    assert(rest.size() >= kChecksumBytes);
    const auto body = rest.first(rest.size() - kChecksumBytes);
    const uint64_t stored = load_le<uint64_t>(rest.data() + body.size());
    const uint64_t computed = snapshot::crc64(body, snapshot::crc64(prefix));
    if (stored != computed)
        return make_error("the header's checksum is {:#018x}; its bytes give {:#018x} (damaged or edited)", stored,
                          computed);
    snapshot::StateReader r(body, "the header");
    Header h;
    h.start_icount = r.u64();
    h.guest_time_rate = r.u64();
    h.machine = r.bytes(kMaxDescription);
    if (r.failed() || version.minor <= kMinorVersion) TRAPEZE_TRY(r.finish());
    return h;  // a newer minor version's fields after these are skipped
}

void encode_chunk_header(const ChunkHeader& c, std::span<uint8_t, kChunkHeaderBytes> out) {
    uint8_t* p = out.data();
    std::memcpy(p, kChunkMagic, sizeof kChunkMagic);
    store_le<uint32_t>(p + 4, c.index);
    store_le<uint32_t>(p + 8, c.events);
    store_le<uint32_t>(p + 12, c.event_bytes);
    store_le<uint32_t>(p + 16, c.compressed_bytes);
    store_le<uint32_t>(p + 20, 0);
    store_le<uint64_t>(p + 24, c.first_icount);
    store_le<uint64_t>(p + 32, c.last_icount);
    store_le<uint64_t>(p + 40, c.data_crc);
    store_le<uint64_t>(p + kChunkHeaderCrcAt, snapshot::crc64(out.first(kChunkHeaderCrcAt)));
}

Result<ChunkHeader> decode_chunk_header(std::span<const uint8_t, kChunkHeaderBytes> in) {
    const uint8_t* p = in.data();
    if (std::memcmp(p, kChunkMagic, sizeof kChunkMagic) != 0) return make_error("no chunk starts here (bad magic)");
    const uint64_t stored = load_le<uint64_t>(p + kChunkHeaderCrcAt);
    const uint64_t computed = snapshot::crc64(in.first(kChunkHeaderCrcAt));
    if (stored != computed)
        return make_error("the chunk header's checksum is {:#018x}; its bytes give {:#018x} (damaged or edited)",
                          stored, computed);
    ChunkHeader c;
    c.index = load_le<uint32_t>(p + 4);
    c.events = load_le<uint32_t>(p + 8);
    c.event_bytes = load_le<uint32_t>(p + 12);
    c.compressed_bytes = load_le<uint32_t>(p + 16);
    const uint32_t reserved = load_le<uint32_t>(p + 20);
    c.first_icount = load_le<uint64_t>(p + 24);
    c.last_icount = load_le<uint64_t>(p + 32);
    c.data_crc = load_le<uint64_t>(p + 40);
    if (reserved != 0) return make_error("the reserved field is {:#x}, not 0", reserved);
    if (c.event_bytes < kEventHeaderBytes || c.event_bytes > kMaxChunkBytes)
        return make_error("it says it holds {} bytes of events; a chunk holds {} to {}", c.event_bytes,
                          kEventHeaderBytes, kMaxChunkBytes);
    if (c.compressed_bytes == 0 || c.compressed_bytes > kMaxCompressedBytes)
        return make_error("its compressed length is {} bytes; it must be 1 to {}", c.compressed_bytes,
                          kMaxCompressedBytes);
    if (c.events == 0 || c.events > c.event_bytes / kEventHeaderBytes)
        return make_error("it says it holds {} events in {} bytes", c.events, c.event_bytes);
    if (c.first_icount > c.last_icount)
        return make_error("its first instruction count {} is above its last {}", c.first_icount, c.last_icount);
    return c;
}

void encode_event_header(const EventHeader& e, std::span<uint8_t, kEventHeaderBytes> out) {
    store_le<uint64_t>(out.data(), e.icount);
    store_le<uint16_t>(out.data() + 8, e.kind);
    store_le<uint16_t>(out.data() + 10, e.source);
    store_le<uint32_t>(out.data() + 12, e.payload_bytes);
}

EventHeader decode_event_header(std::span<const uint8_t, kEventHeaderBytes> in) {
    return {load_le<uint64_t>(in.data()), load_le<uint16_t>(in.data() + 8), load_le<uint16_t>(in.data() + 10),
            load_le<uint32_t>(in.data() + 12)};
}

}  // namespace trapeze::replay
