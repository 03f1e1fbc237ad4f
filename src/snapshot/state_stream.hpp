// StateWriter / StateReader: the byte encoding every component's saved State uses inside a
// snapshot section. Little-endian fixed-width integers, booleans as one byte (0 or 1), and
// length-prefixed byte strings; no padding, no pointers, no host layout, so a State written
// by one build reads the same in another.
//
// The reader takes untrusted bytes (a snapshot file anyone may have edited): every read is
// bounds-checked, a failed read returns 0 / empty and makes the reader fail for good (the
// first reason is kept), and finish() turns that into one Result, so decoders read all their
// fields straight through and check once. Lengths are bounded by the caller (max), so no
// length field can make the reader allocate more than the caller allows.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace trapeze::snapshot {

class StateWriter {
public:
    void u8(uint8_t v) { m_bytes.push_back(v); }
    void u16(uint16_t v) { put(v, 2); }
    void u32(uint32_t v) { put(v, 4); }
    void u64(uint64_t v) { put(v, 8); }
    void boolean(bool v) { u8(v ? 1 : 0); }
    // Fixed-size bytes (the reader knows the length).
    void raw(std::span<const uint8_t> bytes) { m_bytes.insert(m_bytes.end(), bytes.begin(), bytes.end()); }
    // A u32 length, then the bytes.
    void bytes(std::span<const uint8_t> bytes) {
        u32(static_cast<uint32_t>(bytes.size()));
        raw(bytes);
    }
    void string(std::string_view s) { bytes({reinterpret_cast<const uint8_t*>(s.data()), s.size()}); }

    const std::vector<uint8_t>& data() const { return m_bytes; }
    std::vector<uint8_t> take() { return std::move(m_bytes); }

private:
    void put(uint64_t v, unsigned n) {
        for (unsigned i = 0; i < n; ++i) m_bytes.push_back(static_cast<uint8_t>(v >> (8 * i)));
    }
    std::vector<uint8_t> m_bytes;
};

class StateReader {
public:
    // `what` names the data in error messages ("section 'clint'").
    StateReader(std::span<const uint8_t> data, std::string what) : m_data(data), m_what(std::move(what)) {}

    uint8_t u8() { return static_cast<uint8_t>(get(1)); }
    uint16_t u16() { return static_cast<uint16_t>(get(2)); }
    uint32_t u32() { return static_cast<uint32_t>(get(4)); }
    uint64_t u64() { return get(8); }
    bool boolean();
    // Fixed-size bytes into `out` (zeroed on failure).
    void raw(std::span<uint8_t> out);
    // A u32 length (at most `max`), then the bytes.
    std::vector<uint8_t> bytes(size_t max);
    std::string string(size_t max);
    // A count of elements to come, each at least `min_bytes` long, at most `max`: bounds a
    // loop by both the caller's limit and what the data can hold.
    uint32_t count(uint32_t max, size_t min_bytes = 1);

    // Marks the data invalid with a reason (a decoder's own check: a value out of range).
    void fail(std::string why);
    bool failed() const { return !m_error.empty(); }
    // Ok if every read succeeded and every byte was read.
    Result<void> finish() const;

private:
    uint64_t get(unsigned n);
    bool take(size_t n, const char* what);

    std::span<const uint8_t> m_data;
    size_t m_pos = 0;
    std::string m_what;
    std::string m_error;
};

}  // namespace trapeze::snapshot
