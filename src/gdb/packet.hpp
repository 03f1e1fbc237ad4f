// GDB remote serial protocol framing (GDB manual, "Remote Protocol" > "Overview", "Binary
// Data", "Interrupts", "Packet Acknowledgment").
//
// A packet is `$payload#cc`: cc is the sum of the payload's bytes modulo 256 as two hex digits,
// taken over the bytes as sent. Inside the payload `}` escapes the next byte (sent XOR 0x20) and
// `X*n` repeats X another n-29 times (run-length encoding, which gdb only uses in replies; we
// expand it anyway). Outside packets, `+` and `-` acknowledge the last packet sent and a raw
// 0x03 byte is an interrupt (Ctrl-C); anything else there is line noise, skipped.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace trapeze::gdb {

// The largest payload accepted, as sent (escaped) and after decoding. The session advertises it
// as qSupported's PacketSize, so gdb never sends a larger one (it sizes X writes to fit escaped).
constexpr size_t kMaxPacket = 16 * 1024;

struct PacketEvent {
    enum class Kind : uint8_t {
        Packet,     // a complete packet, checksum verified: `payload` is the decoded payload
        Interrupt,  // 0x03 outside a packet
        Ack,        // `+`
        Nack,       // `-`: gdb asks for the last packet again
        Bad,        // a packet that cannot be used (the reply is `-`): `payload` says why
    };
    Kind kind = Kind::Packet;
    std::string payload;
};

// Turns the bytes of a connection, split anywhere, into events. Memory stays bounded: a packet
// is held up to kMaxPacket bytes, past that it is only scanned for its end and then reported
// Bad; the input not yet consumed is what the caller fed since it last drained next().
class PacketReader {
public:
    void feed(std::string_view bytes);
    // The next event, or nullopt once every byte fed so far is consumed. Call it until nullopt
    // after each feed().
    std::optional<PacketEvent> next();

private:
    enum class State : uint8_t { Idle, Payload, Check1, Check2 };

    // One byte; `consume` is cleared when the byte must be seen again in the new state (the
    // start of the next packet that cut this one short).
    std::optional<PacketEvent> step(char byte, bool& consume);
    std::optional<PacketEvent> step_idle(char byte);
    bool take_payload_run();
    std::optional<PacketEvent> step_payload(char byte, bool& consume);
    std::optional<PacketEvent> step_checksum(char byte, bool& consume);
    PacketEvent finish_packet();
    void start_packet();

    std::string m_input;  // fed, not yet consumed from m_pos on
    size_t m_pos = 0;
    State m_state = State::Idle;
    std::string m_raw;  // the payload as sent (escaped, run-length encoded)
    bool m_oversize = false;
    uint8_t m_sum = 0;    // of every payload byte, also those past kMaxPacket
    uint8_t m_check = 0;  // the checksum sent
};

// Decodes a payload as sent: `}` escapes and `*` run lengths. nullopt (with `why`) for an
// escape or run length with nothing to apply to, or a result longer than kMaxPacket.
std::optional<std::string> decode_payload(std::string_view raw, std::string& why);

// `$payload#cc`, with `$ # } *` escaped. Only binary replies (qXfer) ever hold those bytes:
// gdb unescapes `}` only where binary data is expected, so no other reply may contain them.
std::string encode_packet(std::string_view payload);

}  // namespace trapeze::gdb
