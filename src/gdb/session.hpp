// Session: one gdb connection speaking the GDB remote serial protocol to a DebugTarget, one
// packet payload at a time (framing, acks and the socket are the caller's: packet.hpp).
//
// The GDB manual's "Remote Protocol" chapter is the spec; its sections are cited in the code:
// "Packets" (?, g/G, p/P, m/M/X, Z/z, c/s/C/S, D, k, vCont, H, T), "General Query Packets"
// (qSupported, qXfer:features:read, qC, qfThreadInfo, qThreadExtraInfo, qAttached, qRcmd,
// qSymbol, QStartNoAckMode), "Stop Reply Packets" (T, W, O), "Packet Acknowledgment" and
// "Interrupts". QEMU's own packets (qqemu.sstepbits, qqemu.sstep, Qqemu.sstep,
// [qQ]qemu.PhyMemMode) are answered as QEMU's gdbstub answers them, so the `maint packet`
// lines kernel developers already use keep working.
//
// All-stop: while the session waits for a stop (running()), gdb sends nothing but Ctrl-C; the
// caller then waits on the target's stop_fd() and the socket together.
//
// Thread ids on the wire are 1..N for the target's threads 0..N-1 (0 is "any", -1 "all").
// Registers and memory are those of the Hg thread; `s` uses the Hc thread and `c` resumes
// every thread; vCont resumes the threads its actions name, and no other; after a stop the
// thread that stopped becomes both.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "gdb/packet.hpp"
#include "gdb/target.hpp"

namespace trapeze::gdb {

// The longest m read served at once, and the longest qXfer chunk and console output packet:
// their replies (two hex digits a byte, or escaped binary) fit kMaxPacket. A longer m request
// gets a short reply, which gdb continues from.
constexpr size_t kMaxDataChunk = (kMaxPacket - 32) / 2;

// qqemu.sstep bits (QEMU's SSTEP_ENABLE, SSTEP_NOIRQ, SSTEP_NOTIMER).
constexpr unsigned kSstepEnable = 1;
constexpr unsigned kSstepNoIrq = 2;
constexpr unsigned kSstepNoTimer = 4;

class Session {
public:
    // Attaches: every thread of `target` stops (DebugTarget::attach()); `?` reports where.
    // The target outlives the session.
    explicit Session(DebugTarget& target);

    // The replies to one packet payload (decoded, as PacketReader gives it), to be sent in
    // order: none (after a continue, k, or a packet that came while running), or console output
    // (`O`...) before a final reply. An empty string is the empty reply ("unsupported").
    // The caller acknowledges the packet (`+`, unless no_ack()) before calling this.
    std::vector<std::string> handle(std::string_view payload);

    // The target stopped on its own while running() (take_stop() said why): the stop reply.
    std::string on_stop(const StopReason& reason);
    // Ctrl-C: when running(), stops the target and returns the stop reply; otherwise "" (send
    // nothing: the target is already stopped, and its stop was reported).
    std::string on_interrupt();
    // The connection closed without D or k: the target is detached and runs on.
    void on_disconnect();

    bool running() const { return m_running; }
    // After D, k or the guest's end (W): send the replies, then close the connection.
    bool finished() const { return m_finished; }
    // QStartNoAckMode was accepted: from the next packet on, neither side acknowledges.
    bool no_ack() const { return m_no_ack; }
    // `monitor phys on`: m, M and X take guest-physical addresses.
    bool physical() const { return m_physical; }
    unsigned sstep_flags() const { return m_sstep; }

private:
    using Replies = std::vector<std::string>;

    Replies dispatch(std::string_view payload);
    Replies handle_query(std::string_view payload);
    Replies handle_set(std::string_view payload);
    Replies handle_v(std::string_view payload);

    std::string stop_reply(const StopReason& reason);
    std::string stop_reply_text(const StopReason& reason) const;
    std::string query_supported(std::string_view features);
    std::string query_xfer(std::string_view args);
    std::string query_thread_list(bool first);
    std::string query_thread_extra(std::string_view id);
    std::string set_thread(std::string_view args);
    std::string thread_alive(std::string_view id);

    std::string read_registers();
    std::string write_registers(std::string_view hex);
    std::string read_register(std::string_view regnum);
    std::string write_register(std::string_view args);
    std::string read_memory(std::string_view args);
    std::string write_memory(std::string_view args, bool binary);
    std::string point(std::string_view args, bool insert);

    Replies resume_packet(std::string_view args, bool step, bool with_signal);
    Replies vcont(std::string_view actions);
    Replies step_thread(unsigned thread);
    Replies reverse_packet(std::string_view p);
    Replies resume(const ThreadSet& run);
    Replies detach();
    Replies kill();

    Replies monitor(std::string_view hex_command);
    std::string monitor_command(std::string_view command);
    std::string monitor_phys(std::string_view arg);
    std::string monitor_sstep(std::string_view arg);
    std::string help_text();
    std::string set_sstep(std::string_view value);
    std::string set_phy_mem_mode(std::string_view value);

    DebugTarget& m_target;
    const unsigned m_threads;
    unsigned m_g_thread = 0;          // registers and memory (Hg)
    unsigned m_c_thread = 0;          // s, c (Hc)
    unsigned m_next_thread_info = 0;  // qsThreadInfo continues the list from here
    StopReason m_last_stop;
    unsigned m_sstep = kSstepEnable | kSstepNoIrq | kSstepNoTimer;  // QEMU's default
    bool m_running = false;
    bool m_finished = false;
    bool m_no_ack = false;
    bool m_physical = false;
    bool m_gdb_swbreak = false;  // gdb's qSupported offered swbreak+ / hwbreak+
    bool m_gdb_hwbreak = false;
};

}  // namespace trapeze::gdb
