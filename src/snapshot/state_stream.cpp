#include "snapshot/state_stream.hpp"

#include <algorithm>
#include <cstring>

namespace trapeze::snapshot {

bool StateReader::take(size_t n, const char* what) {
    if (failed()) return false;
    if (n > m_data.size() - m_pos) {
        fail(fmt::format("{} at offset {} runs past the end ({} bytes)", what, m_pos, m_data.size()));
        return false;
    }
    return true;
}

uint64_t StateReader::get(unsigned n) {
    if (!take(n, "a field")) return 0;
    uint64_t v = 0;
    for (unsigned i = 0; i < n; ++i) v |= static_cast<uint64_t>(m_data[m_pos + i]) << (8 * i);
    m_pos += n;
    return v;
}

bool StateReader::boolean() {
    const uint8_t v = u8();
    if (v > 1) fail(fmt::format("a boolean at offset {} is {}", m_pos - 1, v));
    return v == 1;
}

void StateReader::raw(std::span<uint8_t> out) {
    if (!take(out.size(), "a field")) {
        std::fill(out.begin(), out.end(), 0);
        return;
    }
    if (!out.empty()) std::memcpy(out.data(), m_data.data() + m_pos, out.size());
    m_pos += out.size();
}

std::vector<uint8_t> StateReader::bytes(size_t max) {
    const uint32_t n = u32();
    if (failed()) return {};
    if (n > max) {
        fail(fmt::format("a length at offset {} is {}, more than {}", m_pos - 4, n, max));
        return {};
    }
    if (!take(n, "a byte string")) return {};
    std::vector<uint8_t> out(m_data.begin() + static_cast<ptrdiff_t>(m_pos),
                             m_data.begin() + static_cast<ptrdiff_t>(m_pos + n));
    m_pos += n;
    return out;
}

std::string StateReader::string(size_t max) {
    const auto b = bytes(max);
    return {b.begin(), b.end()};
}

uint32_t StateReader::count(uint32_t max, size_t min_bytes) {
    const uint32_t n = u32();
    if (failed()) return 0;
    const size_t room = (m_data.size() - m_pos) / std::max<size_t>(min_bytes, 1);
    if (n > max || n > room) {
        fail(fmt::format("a count at offset {} is {}, more than {}", m_pos - 4, n, std::min<size_t>(max, room)));
        return 0;
    }
    return n;
}

void StateReader::fail(std::string why) {
    if (m_error.empty()) m_error = std::move(why);
}

Result<void> StateReader::finish() const {
    if (failed()) return make_error("{}: {}", m_what, m_error);
    if (m_pos != m_data.size())
        return make_error("{}: {} bytes left over after offset {}", m_what, m_data.size() - m_pos, m_pos);
    return ok();
}

}  // namespace trapeze::snapshot
