// Helpers shared by the replay log tests: events as values, reading a whole log, and logs built
// byte by byte (RawEvents, raw_chunk, raw_log) for what LogWriter never writes. The temporary
// directory, whole-file I/O and fails_with() are the snapshot tests' (snapshot_test_util.hpp).
#pragma once

#include <gtest/gtest.h>
#include <zstd.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/bits.hpp"
#include "replay/log_reader.hpp"
#include "replay/log_writer.hpp"
#include "snapshot/crc64.hpp"
#include "snapshot_test_util.hpp"

namespace trapeze::replay::test {

using snapshot::test::fails_with;
using snapshot::test::read_bytes;
using snapshot::test::TempDir;
using snapshot::test::write_bytes;

// An event with its own copy of the payload.
struct Stored {
    uint64_t icount = 0;
    EventKind kind = EventKind::ConsoleInput;
    uint16_t source = 0;
    std::vector<uint8_t> payload;
    bool operator==(const Stored&) const = default;
};

inline void PrintTo(const Stored& e, std::ostream* os) {
    *os << "{" << e.icount << ", " << kind_name(e.kind) << ", source " << e.source << ", " << e.payload.size()
        << " bytes}";
}

inline Header test_header() {
    Header h;
    h.start_icount = 1000;
    h.guest_time_rate = 0x1999999a;  // 0.1 tick per instruction in 32.32 fixed point
    h.machine = {'r', 'v', '6', '4', ' ', '2', ' ', 'h', 'a', 'r', 't', 's'};
    return h;
}

// What reading a log to its end gave: the events, and the error that stopped it, if any.
struct ReadBack {
    std::vector<Stored> events;
    std::optional<Error> error;
    bool complete = false;
};

inline ReadBack read_all(LogReader& r) {
    ReadBack out;
    for (;;) {
        auto e = r.next();
        if (!e) {
            out.error = e.error();
            return out;
        }
        if (!e->has_value()) break;
        const Event& ev = **e;
        out.events.push_back({ev.icount, ev.kind, ev.source, {ev.payload.begin(), ev.payload.end()}});
    }
    out.complete = r.complete();
    return out;
}

inline std::vector<uint8_t> bytes(size_t n, uint8_t seed) {
    std::vector<uint8_t> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed + i * 7);
    return v;
}

// The uncompressed events of a chunk, built by hand: any kind, any length field.
struct RawEvents {
    std::vector<uint8_t> data;
    uint32_t count = 0;
    uint64_t first = 0;
    uint64_t last = 0;

    // `length` replaces the payload's length in the event header (a lie about it).
    RawEvents& add(uint64_t icount, uint16_t kind, uint16_t source, const std::vector<uint8_t>& payload,
                   std::optional<uint32_t> length = {}) {
        uint8_t h[kEventHeaderBytes];
        encode_event_header({icount, kind, source, length.value_or(static_cast<uint32_t>(payload.size()))},
                            std::span<uint8_t, kEventHeaderBytes>(h));
        data.insert(data.end(), h, h + kEventHeaderBytes);
        data.insert(data.end(), payload.begin(), payload.end());
        if (count++ == 0) first = icount;
        last = icount;
        return *this;
    }
    RawEvents& add(uint64_t icount, EventKind kind, uint16_t source, const std::vector<uint8_t>& payload) {
        return add(icount, static_cast<uint16_t>(kind), source, payload);
    }
    RawEvents& end(uint64_t icount, uint64_t events_before, uint64_t hash = 0, uint64_t output = 0) {
        std::vector<uint8_t> p(EndRecord::kPayloadBytes);
        store_le<uint64_t>(p.data(), hash);
        store_le<uint64_t>(p.data() + 8, output);
        store_le<uint64_t>(p.data() + 16, events_before);
        return add(icount, EventKind::End, 0, p);
    }
};

inline std::vector<uint8_t> zstd_frame(const std::vector<uint8_t>& data) {
    std::vector<uint8_t> out(ZSTD_compressBound(data.size()));
    const size_t n = ZSTD_compress(out.data(), out.size(), data.data(), data.size(), 3);
    EXPECT_FALSE(ZSTD_isError(n));
    out.resize(n);
    return out;
}

// A chunk of `ev`: its header describes it truly (index, count, sizes, counts, checksums)
// unless `edit` changes the header or the frame first; both checksums follow the edit unless
// `edit` sets data_crc itself (then only the header's own checksum is recomputed).
inline std::vector<uint8_t> raw_chunk(uint32_t index, const RawEvents& ev,
                                      const std::function<void(ChunkHeader&, std::vector<uint8_t>&)>& edit = {}) {
    std::vector<uint8_t> frame = zstd_frame(ev.data);
    ChunkHeader c{
        index,   ev.count, static_cast<uint32_t>(ev.data.size()), static_cast<uint32_t>(frame.size()), ev.first,
        ev.last, 0};
    if (edit) edit(c, frame);
    if (c.data_crc == 0) c.data_crc = snapshot::crc64(frame);
    std::vector<uint8_t> out(kChunkHeaderBytes);
    encode_chunk_header(c, std::span<uint8_t, kChunkHeaderBytes>(out.data(), kChunkHeaderBytes));
    out.insert(out.end(), frame.begin(), frame.end());
    return out;
}

inline std::vector<uint8_t> raw_log(const std::vector<std::vector<uint8_t>>& chunks, const Header& h = test_header(),
                                    LogVersion version = {}) {
    std::vector<uint8_t> out = encode_header(h, version);
    for (const auto& c : chunks) out.insert(out.end(), c.begin(), c.end());
    return out;
}

// Opens `file` (written to dir/name) and reads it to its end.
inline Result<ReadBack> open_and_read(const TempDir& dir, const std::vector<uint8_t>& file,
                                      const std::string& name = "log") {
    write_bytes(dir.path(name), file);
    auto r = LogReader::open(dir.path(name));
    if (!r) return r.error();
    return read_all(*r);
}

}  // namespace trapeze::replay::test
