// DescriptorChain: one validated request taken from a virtqueue — its head index and the
// buffers it names, as bounds-checked host spans into guest RAM (device-readable ones first,
// then device-writable ones, in chain order). ChainReader/ChainWriter copy across those
// scatter-gather lists as if they were one contiguous buffer.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "memory/address.hpp"

namespace trapeze::virtio {

using ByteSpans = std::vector<std::span<uint8_t>>;

struct DescriptorChain {
    uint16_t head = 0;
    ByteSpans readable;
    ByteSpans writable;
    std::vector<Gpa> writable_gpa;  // where each writable span lies, to report device writes

    void clear() {
        head = 0;
        readable.clear();
        writable.clear();
        writable_gpa.clear();
    }
};

uint64_t total_bytes(const ByteSpans& spans);

// The sub-list covering bytes [offset, offset + len) of `spans` (clamped to what exists).
ByteSpans slice(const ByteSpans& spans, uint64_t offset, uint64_t len);

// Sequential reads from a list of spans.
class ChainReader {
public:
    explicit ChainReader(const ByteSpans& spans) : m_spans(spans) {}
    // Copies up to out.size() bytes; returns how many were copied.
    size_t read(std::span<uint8_t> out);
    uint64_t consumed() const { return m_consumed; }

private:
    const ByteSpans& m_spans;
    size_t m_index = 0;
    size_t m_offset = 0;
    uint64_t m_consumed = 0;
};

// Sequential writes into a list of spans.
class ChainWriter {
public:
    explicit ChainWriter(const ByteSpans& spans) : m_spans(spans) {}
    // Copies up to in.size() bytes; returns how many were copied.
    size_t write(std::span<const uint8_t> in);
    uint64_t written() const { return m_written; }

private:
    const ByteSpans& m_spans;
    size_t m_index = 0;
    size_t m_offset = 0;
    uint64_t m_written = 0;
};

}  // namespace trapeze::virtio
