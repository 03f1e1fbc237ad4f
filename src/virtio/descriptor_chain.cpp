#include "virtio/descriptor_chain.hpp"

#include <algorithm>
#include <cstring>

namespace trapeze::virtio {

uint64_t total_bytes(const ByteSpans& spans) {
    uint64_t n = 0;
    for (const auto& s : spans) n += s.size();
    return n;
}

ByteSpans slice(const ByteSpans& spans, uint64_t offset, uint64_t len) {
    ByteSpans out;
    for (const auto& s : spans) {
        if (len == 0) break;
        if (offset >= s.size()) {
            offset -= s.size();
            continue;
        }
        const uint64_t n = std::min<uint64_t>(s.size() - offset, len);
        out.push_back(s.subspan(static_cast<size_t>(offset), static_cast<size_t>(n)));
        len -= n;
        offset = 0;
    }
    return out;
}

size_t ChainReader::read(std::span<uint8_t> out) {
    size_t done = 0;
    while (done < out.size() && m_index < m_spans.size()) {
        const auto& s = m_spans[m_index];
        const size_t n = std::min(out.size() - done, s.size() - m_offset);
        if (n > 0) std::memcpy(out.data() + done, s.data() + m_offset, n);
        done += n;
        m_offset += n;
        if (m_offset == s.size()) {
            ++m_index;
            m_offset = 0;
        }
    }
    m_consumed += done;
    return done;
}

size_t ChainWriter::write(std::span<const uint8_t> in) {
    size_t done = 0;
    while (done < in.size() && m_index < m_spans.size()) {
        const auto& s = m_spans[m_index];
        const size_t n = std::min(in.size() - done, s.size() - m_offset);
        if (n > 0) std::memcpy(s.data() + m_offset, in.data() + done, n);
        done += n;
        m_offset += n;
        if (m_offset == s.size()) {
            ++m_index;
            m_offset = 0;
        }
    }
    m_written += done;
    return done;
}

}  // namespace trapeze::virtio
