// libFuzzer target: the gdb stub's side of a connection (issue 27). The bytes go to a
// gdb::PacketReader in chunks; every packet it completes is handled by a gdb::Session in front
// of the unit tests' fake target (tests/unit/gdb/fake_target.hpp: 1 to 4 threads, registers,
// 256 bytes of memory), every Ctrl-C goes to Session::on_interrupt, and whenever the session
// waits for a stop at the end of a chunk the target stops, for a reason the input chooses.
//
// Input:
//   byte 0   the chunk size (0: the whole stream at once)
//   byte 1   bits 0-1 the number of threads - 1; bits 2-4 where the cycle of stop reasons
//            starts (signal, software and hardware breakpoint, write/read/access watchpoint,
//            the guest's end if bit 6 is set, else a signal again); bit 5: every step reports
//            a write watchpoint
//   the rest the bytes gdb sends
//
// Checked: every reply survives encode_packet and a fresh PacketReader unchanged and fits
// kMaxPacket; a stop reply is T (with a valid thread:) or W; the session calls the target only
// in the state the DebugTarget contract allows (FakeTarget::bad_call: nothing but interrupt()
// and take_stop() while running, no point of a type the target lacks, threads in range); no
// reply comes while running and none after the session finished.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "../unit/gdb/fake_target.hpp"
#include "base/hex.hpp"
#include "gdb/packet.hpp"
#include "gdb/session.hpp"

using namespace trapeze::gdb;
using trapeze::parse_hex_u64;

namespace {

void require(bool ok) {
    if (!ok) __builtin_trap();
}

void check_reply(const std::string& reply) {
    require(reply.size() <= kMaxPacket);
    PacketReader reader;
    reader.feed(encode_packet(reply));
    const auto event = reader.next();
    require(event && event->kind == PacketEvent::Kind::Packet && event->payload == reply);
    require(!reader.next());
}

void check_stop_reply(const std::string& reply, unsigned threads) {
    check_reply(reply);
    require(!reply.empty() && (reply[0] == 'T' || reply[0] == 'W'));
    if (reply[0] == 'W') return;
    const size_t at = reply.find("thread:");
    require(at != std::string::npos);
    const size_t end = reply.find(';', at);
    const auto id = parse_hex_u64(std::string_view(reply).substr(at + 7, end - at - 7));
    require(id && *id >= 1 && *id <= threads);
}

StopReason stop_for(unsigned n, unsigned threads, bool may_exit) {
    StopReason r;
    r.thread = n % threads;
    switch (n % 7) {
        case 0:
            r.kind = StopReason::Kind::Signal;
            break;
        case 1:
            r.kind = StopReason::Kind::Breakpoint;
            r.point = PointType::Software;
            break;
        case 2:
            r.kind = StopReason::Kind::Breakpoint;
            r.point = PointType::Hardware;
            break;
        case 3:
            r.kind = StopReason::Kind::Watch;
            r.point = PointType::Write;
            r.data_address = 0x1000 + n;
            break;
        case 4:
            r.kind = StopReason::Kind::Watch;
            r.point = PointType::Read;
            r.data_address = 0x1000;
            break;
        case 5:
            r.kind = StopReason::Kind::Watch;
            r.point = PointType::Access;
            r.data_address = UINT64_MAX;
            break;
        default:
            r.kind = may_exit ? StopReason::Kind::Exited : StopReason::Kind::Signal;
            r.exit_code = static_cast<int>(n);
    }
    return r;
}

class Connection {
public:
    explicit Connection(uint8_t flags)
        : m_threads((flags & 3u) + 1),
          m_target(m_threads),
          m_session(m_target),
          m_stops(flags >> 2 & 7u),
          m_may_exit((flags & 0x40) != 0) {
        if ((flags & 0x20) != 0)
            m_target.next_step = StopReason{StopReason::Kind::Watch, 0, 5, PointType::Write, 0x1008};
    }

    // One chunk: every event in it, then a stop if the session waits for one.
    void chunk(std::string_view bytes) {
        m_reader.feed(bytes);
        while (auto event = m_reader.next()) {
            on_event(*event);
            require(!m_target.bad_call);
        }
        if (m_session.running() && !m_session.finished()) {
            m_target.next_stop = stop_for(m_stops++, m_threads, m_may_exit);
            const auto stop = m_target.take_stop();
            require(stop.has_value());
            check_stop_reply(m_session.on_stop(*stop), m_threads);
        }
        require(!m_target.bad_call);
    }

    void close() { m_session.on_disconnect(); }

private:
    void on_event(const PacketEvent& event) {
        if (event.kind == PacketEvent::Kind::Bad) require(!event.payload.empty());
        if (event.kind == PacketEvent::Kind::Interrupt) {
            const std::string reply = m_session.on_interrupt();
            if (!reply.empty()) check_stop_reply(reply, m_threads);
        }
        if (event.kind != PacketEvent::Kind::Packet) return;
        const bool silent = m_session.running() || m_session.finished();
        const auto replies = m_session.handle(event.payload);
        require(!silent || replies.empty());
        for (const auto& r : replies) check_reply(r);
    }

    unsigned m_threads;
    fake::FakeTarget m_target;
    Session m_session;
    PacketReader m_reader;
    unsigned m_stops;
    bool m_may_exit;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 2) return 0;
    const size_t chunk = data[0] == 0 ? size : data[0];
    Connection c(data[1]);
    const std::string_view bytes(reinterpret_cast<const char*>(data + 2), size - 2);
    for (size_t at = 0; at < bytes.size(); at += chunk) c.chunk(bytes.substr(at, chunk));
    c.close();
    return 0;
}
