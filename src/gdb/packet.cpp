#include "gdb/packet.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>

#include "base/hex.hpp"

namespace trapeze::gdb {

namespace {

constexpr char kInterrupt = '\x03';
constexpr char kEscape = '}';
constexpr uint8_t kEscapeXor = 0x20;
constexpr char kRepeat = '*';
// "Overview": the repeat count is the count character minus 29; gdb never uses a count
// character below ' ' (3 repeats) or above '~'.
constexpr int kRepeatBias = 29;

PacketEvent bad(std::string why) {
    return PacketEvent{PacketEvent::Kind::Bad, std::move(why)};
}

bool needs_escape(char c) {
    return c == '$' || c == '#' || c == kEscape || c == kRepeat;
}

}  // namespace

void PacketReader::feed(std::string_view bytes) {
    m_input.erase(0, m_pos);
    m_pos = 0;
    m_input.append(bytes);
}

std::optional<PacketEvent> PacketReader::next() {
    while (m_pos < m_input.size()) {
        if (m_state == State::Payload && take_payload_run()) continue;
        bool consume = true;
        auto event = step(m_input[m_pos], consume);
        if (consume) ++m_pos;
        if (event) return event;
    }
    m_input.clear();
    m_pos = 0;
    return std::nullopt;
}

std::optional<PacketEvent> PacketReader::step(char byte, bool& consume) {
    switch (m_state) {
        case State::Idle:
            return step_idle(byte);
        case State::Payload:
            return step_payload(byte, consume);
        case State::Check1:
        case State::Check2:
            return step_checksum(byte, consume);
    }
    return std::nullopt;
}

std::optional<PacketEvent> PacketReader::step_idle(char byte) {
    switch (byte) {
        case '$':
            start_packet();
            return std::nullopt;
        case kInterrupt:
            return PacketEvent{PacketEvent::Kind::Interrupt, {}};
        case '+':
            return PacketEvent{PacketEvent::Kind::Ack, {}};
        case '-':
            return PacketEvent{PacketEvent::Kind::Nack, {}};
        default:
            return std::nullopt;  // noise between packets
    }
}

void PacketReader::start_packet() {
    m_state = State::Payload;
    m_raw.clear();
    m_oversize = false;
    m_sum = 0;
}

// The payload bytes up to the next `#` or `$` at once; false if there were none.
bool PacketReader::take_payload_run() {
    const size_t end = std::min(m_input.find_first_of("#$", m_pos), m_input.size());
    if (end == m_pos) return false;
    const std::string_view run = std::string_view(m_input).substr(m_pos, end - m_pos);
    for (const char c : run) m_sum = static_cast<uint8_t>(m_sum + static_cast<uint8_t>(c));
    const size_t room = kMaxPacket - m_raw.size();
    m_raw.append(run.substr(0, room));
    if (run.size() > room) m_oversize = true;
    m_pos = end;
    return true;
}

// At a `#` or `$`: take_payload_run() took every other byte of the payload.
std::optional<PacketEvent> PacketReader::step_payload(char byte, bool& consume) {
    assert(byte == '#' || byte == '$');
    if (byte == '#') {
        m_state = State::Check1;
        return std::nullopt;
    }
    // An unescaped `$` never occurs inside a payload: the packet was cut short and this starts
    // the next one, which the Idle state sees again.
    consume = false;
    m_state = State::Idle;
    return bad("packet cut short by the start of another");
}

std::optional<PacketEvent> PacketReader::step_checksum(char byte, bool& consume) {
    const int digit = hex_digit_value(byte);
    if (digit < 0) {
        consume = byte != '$' && byte != kInterrupt;  // the next packet or a Ctrl-C is kept
        m_state = State::Idle;
        return bad("checksum is not two hex digits");
    }
    if (m_state == State::Check1) {
        m_check = static_cast<uint8_t>(digit << 4);
        m_state = State::Check2;
        return std::nullopt;
    }
    m_check = static_cast<uint8_t>(m_check | digit);
    m_state = State::Idle;
    return finish_packet();
}

PacketEvent PacketReader::finish_packet() {
    if (m_oversize) return bad(fmt::format("packet longer than {} bytes", kMaxPacket));
    if (m_check != m_sum) return bad(fmt::format("checksum {:02x}, the payload sums to {:02x}", m_check, m_sum));
    std::string why;
    auto payload = decode_payload(m_raw, why);
    if (!payload) return bad(std::move(why));
    return PacketEvent{PacketEvent::Kind::Packet, std::move(*payload)};
}

std::optional<std::string> decode_payload(std::string_view raw, std::string& why) {
    auto fail = [&why](std::string reason) -> std::optional<std::string> {
        why = std::move(reason);
        return std::nullopt;
    };
    if (raw.find_first_of("}*") == std::string_view::npos) return std::string(raw);
    std::string out;
    for (size_t i = 0; i < raw.size(); ++i) {
        if (raw[i] == kEscape) {
            if (++i == raw.size()) return fail("escape at the end of the packet");
            out.push_back(static_cast<char>(static_cast<uint8_t>(raw[i]) ^ kEscapeXor));
        } else if (raw[i] == kRepeat) {
            if (out.empty() || ++i == raw.size()) return fail("run length with nothing to repeat");
            const int count = static_cast<uint8_t>(raw[i]) - kRepeatBias;
            if (count < 3 || count > '~' - kRepeatBias) return fail("run length out of range");
            out.append(static_cast<size_t>(count), out.back());
        } else {
            out.push_back(raw[i]);
        }
        if (out.size() > kMaxPacket) return fail(fmt::format("packet longer than {} bytes", kMaxPacket));
    }
    return out;
}

std::string encode_packet(std::string_view payload) {
    std::string out = "$";
    out.reserve(payload.size() + 4);
    uint8_t sum = 0;
    auto put = [&](char c) {
        out.push_back(c);
        sum = static_cast<uint8_t>(sum + static_cast<uint8_t>(c));
    };
    for (const char c : payload) {
        if (!needs_escape(c)) {
            put(c);
            continue;
        }
        put(kEscape);
        put(static_cast<char>(static_cast<uint8_t>(c) ^ kEscapeXor));
    }
    out.push_back('#');
    append_hex_byte(out, sum);
    return out;
}

}  // namespace trapeze::gdb
