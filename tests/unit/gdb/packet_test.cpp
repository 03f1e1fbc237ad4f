// PacketReader and encode_packet (issue 27): packets come whole however the bytes are split,
// escapes and run lengths are decoded, and what is corrupt, oversized or noise is reported or
// skipped without disturbing the packets around it.
#include "gdb/packet.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/hex.hpp"

namespace trapeze::gdb {
namespace {

using Kind = PacketEvent::Kind;

// `$raw#cc` with the right checksum over the bytes as given (no escaping).
std::string frame(std::string_view raw) {
    uint8_t sum = 0;
    for (const char c : raw) sum = static_cast<uint8_t>(sum + static_cast<uint8_t>(c));
    std::string out = "$" + std::string(raw) + "#";
    append_hex_byte(out, sum);
    return out;
}

std::vector<PacketEvent> drain(PacketReader& r) {
    std::vector<PacketEvent> events;
    while (auto e = r.next()) events.push_back(std::move(*e));
    return events;
}

std::vector<PacketEvent> read_all(std::string_view bytes, size_t chunk = SIZE_MAX) {
    PacketReader r;
    std::vector<PacketEvent> events;
    for (size_t at = 0; at < bytes.size(); at += chunk) {
        r.feed(bytes.substr(at, chunk));
        for (auto& e : drain(r)) events.push_back(std::move(e));
    }
    return events;
}

TEST(PacketReader, ReadsAPacketFedOneByteAtATime) {
    PacketReader r;
    const std::string wire = frame("qSupported:swbreak+");
    for (size_t i = 0; i + 1 < wire.size(); ++i) {
        r.feed(wire.substr(i, 1));
        ASSERT_FALSE(r.next()) << i;
    }
    r.feed(wire.substr(wire.size() - 1));
    const auto e = r.next();
    ASSERT_TRUE(e);
    EXPECT_EQ(e->kind, Kind::Packet);
    EXPECT_EQ(e->payload, "qSupported:swbreak+");
    EXPECT_FALSE(r.next());
}

TEST(PacketReader, GivesTheSameEventsForEveryChunkSize) {
    const std::string wire = "+" + frame("g") + "-junk\x03" + frame("m1000,4") + "+" + frame("X10,2:}]}\x03");
    const auto whole = read_all(wire);
    ASSERT_EQ(whole.size(), 7u);
    EXPECT_EQ(whole[0].kind, Kind::Ack);
    EXPECT_EQ(whole[1].payload, "g");
    EXPECT_EQ(whole[2].kind, Kind::Nack);
    EXPECT_EQ(whole[3].kind, Kind::Interrupt);
    EXPECT_EQ(whole[4].payload, "m1000,4");
    EXPECT_EQ(whole[5].kind, Kind::Ack);
    EXPECT_EQ(whole[6].payload, "X10,2:}#");
    for (size_t chunk = 1; chunk < wire.size(); ++chunk) {
        const auto split = read_all(wire, chunk);
        ASSERT_EQ(split.size(), whole.size()) << chunk;
        for (size_t i = 0; i < split.size(); ++i) {
            EXPECT_EQ(split[i].kind, whole[i].kind) << chunk << " " << i;
            EXPECT_EQ(split[i].payload, whole[i].payload) << chunk << " " << i;
        }
    }
}

TEST(PacketReader, DecodesEscapedBytes) {
    // } escapes the next byte XOR 0x20: }] is }, }\x03 is #, }\x04 is $, }\n is *.
    const auto events = read_all(frame("X0,4:}]}\x03}\x04}\n"));
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].kind, Kind::Packet);
    EXPECT_EQ(events[0].payload, "X0,4:}#$*");
}

TEST(PacketReader, ExpandsRunLengths) {
    // "Overview": 0*" is 0 and 34-29 = 5 more of it.
    const auto events = read_all(frame("0*\"00") + frame("ab*~"));
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[0].payload, "00000000");
    EXPECT_EQ(events[1].payload, "a" + std::string(1 + 97, 'b'));
}

TEST(PacketReader, RefusesRunLengthsAndEscapesWithNothingToApplyTo) {
    for (const std::string raw : {"*\"0", "0*", "0*\x1f", "abc}"}) {
        const auto events = read_all(frame(raw));
        ASSERT_EQ(events.size(), 1u) << raw;
        EXPECT_EQ(events[0].kind, Kind::Bad) << raw;
    }
}

TEST(PacketReader, ReportsABadChecksumAndReadsOn) {
    const auto events = read_all("$g#00" + frame("?"));
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[0].kind, Kind::Bad);
    EXPECT_NE(events[0].payload.find("checksum"), std::string::npos);
    EXPECT_EQ(events[1].kind, Kind::Packet);
    EXPECT_EQ(events[1].payload, "?");
}

TEST(PacketReader, AcceptsEitherCaseInTheChecksum) {
    const auto events = read_all("$m0,1#FA$m0,1#fa");
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[0].payload, "m0,1");
    EXPECT_EQ(events[1].payload, "m0,1");
}

TEST(PacketReader, KeepsWhatFollowsAChecksumThatIsNotHex) {
    const auto events = read_all("$g#6\x03$g#z" + frame("g"));
    ASSERT_EQ(events.size(), 4u);
    EXPECT_EQ(events[0].kind, Kind::Bad);
    EXPECT_EQ(events[1].kind, Kind::Interrupt);
    EXPECT_EQ(events[2].kind, Kind::Bad);
    EXPECT_EQ(events[3].payload, "g");
}

TEST(PacketReader, ReportsAPacketCutShortByTheNextOne) {
    const auto events = read_all("$m1000,4" + frame("g"));
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[0].kind, Kind::Bad);
    EXPECT_EQ(events[1].payload, "g");
}

TEST(PacketReader, SkipsNoiseBetweenPackets) {
    const auto events = read_all("\r\nxyz#00" + frame("g") + std::string("\xff\x00 ", 3));
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].payload, "g");
}

TEST(PacketReader, TakesInterruptsOutsidePacketsOnly) {
    const auto events = read_all("\x03" + frame("X0,1:\x03") + "\x03");
    ASSERT_EQ(events.size(), 3u);
    EXPECT_EQ(events[0].kind, Kind::Interrupt);
    EXPECT_EQ(events[1].payload, "X0,1:\x03");
    EXPECT_EQ(events[2].kind, Kind::Interrupt);
}

TEST(PacketReader, AcceptsAPacketOfTheLargestSize) {
    const auto events = read_all(frame(std::string(kMaxPacket, 'a')));
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].kind, Kind::Packet);
    EXPECT_EQ(events[0].payload.size(), kMaxPacket);
}

TEST(PacketReader, ReportsAnOversizedPacketAndReadsOn) {
    const auto events = read_all(frame(std::string(kMaxPacket + 1, 'a')) + frame("g"), 1000);
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[0].kind, Kind::Bad);
    EXPECT_EQ(events[1].payload, "g");
}

TEST(PacketReader, ReportsRunLengthsThatExpandPastTheLimit) {
    std::string raw = "a";
    while (raw.size() < kMaxPacket / 100 * 3) raw += "*~";  // ~97 bytes for every 2 sent
    const auto events = read_all(frame(raw));
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].kind, Kind::Bad);
}

TEST(PacketReader, SkipsAnEndlessPacketWithoutKeepingIt) {
    // A megabyte inside one packet that never ends, then a real one: only the cut-short report
    // and the packet come out; the reader has kept no more than kMaxPacket of it.
    PacketReader r;
    r.feed("$");
    const std::string chunk(64 * 1024, 'z');
    for (int i = 0; i < 16; ++i) {
        r.feed(chunk);
        EXPECT_FALSE(r.next());
    }
    r.feed(frame("g"));
    const auto events = drain(r);
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[0].kind, Kind::Bad);
    EXPECT_EQ(events[1].payload, "g");
}

TEST(EncodePacket, AddsTheChecksum) {
    EXPECT_EQ(encode_packet("OK"), "$OK#9a");
    EXPECT_EQ(encode_packet(""), "$#00");
}

TEST(EncodePacket, EscapesFramingBytesAndRoundTrips) {
    const std::string payload = std::string("l$#}*\x03\x00\xff", 8);
    const std::string wire = encode_packet(payload);
    EXPECT_EQ(wire.substr(0, 10), "$l}\x04}\x03}]}\n");
    const auto events = read_all(wire);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].kind, Kind::Packet);
    EXPECT_EQ(events[0].payload, payload);
}

}  // namespace
}  // namespace trapeze::gdb
