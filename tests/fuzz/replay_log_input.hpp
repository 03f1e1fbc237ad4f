// The replay_log_fuzzer's input and the log file it stands for (replay/log_format.hpp). Shared
// with the unit test that writes and checks the fuzzer's seeds (tests/unit/replay).
//
//   byte 0     flags: bit 0 (kReseal) set: the header's checksum and both checksums of every
//              chunk are recomputed, so mutations get past them to the checks behind;
//              bit 1 (kCompress) set: each chunk's data in the input is its events
//              uncompressed (the chunk header's compressed length C says how many bytes), and
//              they are replaced by a zstd frame with U, C and both checksums set to match, so
//              mutations of the events reach the event checks (implies kReseal)
//   the rest   the log: header, then chunks
//
// A chunk whose data runs past the input's end, and whatever follows it, is copied as it is.
#pragma once

#include <zstd.h>

#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

#include "base/bits.hpp"
#include "replay/log_format.hpp"
#include "snapshot/crc64.hpp"

namespace trapeze::fuzz {

inline constexpr uint8_t kReseal = 1;
inline constexpr uint8_t kCompress = 2;

inline std::vector<uint8_t> replay_log_file(std::span<const uint8_t> input) {
    using namespace trapeze::replay;
    if (input.empty()) return {};
    const uint8_t flags = input[0];
    std::vector<uint8_t> in(input.begin() + 1, input.end());
    if ((flags & (kReseal | kCompress)) == 0 || in.size() < kHeaderPrefixBytes) return in;
    const uint64_t body = load_le<uint32_t>(in.data() + 12);
    const uint64_t header_end = kHeaderPrefixBytes + body + kChecksumBytes;
    if (header_end > in.size()) return in;
    store_le<uint64_t>(in.data() + kHeaderPrefixBytes + body, snapshot::crc64({in.data(), kHeaderPrefixBytes + body}));
    std::vector<uint8_t> out(in.begin(), in.begin() + static_cast<ptrdiff_t>(header_end));
    size_t at = header_end;
    while (in.size() - at >= kChunkHeaderBytes) {
        const size_t c = load_le<uint32_t>(in.data() + at + 16);
        if (c > in.size() - at - kChunkHeaderBytes) break;
        std::span<const uint8_t> data(in.data() + at + kChunkHeaderBytes, c);
        std::vector<uint8_t> frame(data.begin(), data.end());
        std::vector<uint8_t> header(in.begin() + static_cast<ptrdiff_t>(at),
                                    in.begin() + static_cast<ptrdiff_t>(at + kChunkHeaderBytes));
        if ((flags & kCompress) != 0) {
            frame.resize(ZSTD_compressBound(data.size()));
            const size_t n = ZSTD_compress(frame.data(), frame.size(), data.data(), data.size(), 1);
            frame.resize(ZSTD_isError(n) ? 0 : n);
            store_le<uint32_t>(header.data() + 12, static_cast<uint32_t>(data.size()));
            store_le<uint32_t>(header.data() + 16, static_cast<uint32_t>(frame.size()));
        }
        store_le<uint64_t>(header.data() + 40, snapshot::crc64(frame));
        store_le<uint64_t>(header.data() + 48, snapshot::crc64(std::span(header).first(48)));
        out.insert(out.end(), header.begin(), header.end());
        out.insert(out.end(), frame.begin(), frame.end());
        at += kChunkHeaderBytes + c;
    }
    out.insert(out.end(), in.begin() + static_cast<ptrdiff_t>(at), in.end());
    return out;
}

}  // namespace trapeze::fuzz
