#include "gdb/session.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <climits>
#include <optional>
#include <utility>

#include "base/hex.hpp"

namespace trapeze::gdb {

namespace {

// "Standard Replies": E NN is an error (gdb shows only that the packet failed); the numbers
// follow gdbserver and QEMU: a malformed packet or a refusal, a memory fault (EFAULT), a bad
// value (EINVAL).
constexpr std::string_view kOk = "OK";
constexpr std::string_view kMalformed = "E01";
constexpr std::string_view kNoAnnex = "E00";  // qXfer: "the annex was invalid"
constexpr std::string_view kFault = "E14";
constexpr std::string_view kInvalid = "E22";
// qfThreadInfo ids per reply; the rest follow in qsThreadInfo.
constexpr unsigned kThreadsPerReply = 512;

struct Split {
    std::string_view head;
    std::string_view tail;
    bool found = false;
};

Split split_once(std::string_view s, char sep) {
    const size_t at = s.find(sep);
    if (at == std::string_view::npos) return {s, {}, false};
    return {s.substr(0, at), s.substr(at + 1), true};
}

std::string_view trim(std::string_view s) {
    const size_t first = s.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos) return {};
    return s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
}

// "addr,length" (m, M, X, qXfer's "offset,length").
std::optional<std::pair<uint64_t, uint64_t>> parse_pair(std::string_view s) {
    const Split p = split_once(s, ',');
    if (!p.found) return std::nullopt;
    const auto first = parse_hex_u64(p.head);
    const auto second = parse_hex_u64(p.tail);
    if (!first || !second) return std::nullopt;
    return std::pair{*first, *second};
}

// How many bytes from `addr` up to the top of the 64-bit address space, at most `len`.
uint64_t clamp_to_top(uint64_t addr, uint64_t len) {
    return addr == 0 ? len : std::min(len, 0 - addr);
}

const char* watch_name(PointType type) {
    switch (type) {
        case PointType::Write:
            return "watch";
        case PointType::Read:
            return "rwatch";
        case PointType::Access:
            return "awatch";
        default:
            return nullptr;
    }
}

// A thread id on the wire ("Packets", thread-id): -1 all threads, 0 any thread, else 1..N.
struct ThreadSel {
    enum class Kind : uint8_t { All, Any, One };
    Kind kind = Kind::Any;
    unsigned index = 0;  // One: 0-based
};

std::optional<ThreadSel> parse_thread_id(std::string_view s, unsigned threads) {
    if (s == "-1") return ThreadSel{ThreadSel::Kind::All, 0};
    const auto id = parse_hex_u64(s);
    if (!id || *id > threads) return std::nullopt;
    if (*id == 0) return ThreadSel{ThreadSel::Kind::Any, 0};
    return ThreadSel{ThreadSel::Kind::One, static_cast<unsigned>(*id - 1)};
}

std::optional<unsigned> parse_regnum(std::string_view s) {
    const auto n = parse_hex_u64(s);
    if (!n || *n > UINT_MAX) return std::nullopt;
    return static_cast<unsigned>(*n);
}

// One vCont action: a step (s, Sxx) or a continue (c, Cxx), and the threads it names.
struct VContAction {
    bool step = false;
    ThreadSel thread{ThreadSel::Kind::All, 0};
};

// ";ACTION[:TID]..." ("Packets", vCont); nullopt if malformed.
std::optional<std::vector<VContAction>> parse_vcont(std::string_view actions, unsigned threads) {
    if (!actions.starts_with(';')) return std::nullopt;
    std::vector<VContAction> parsed;
    for (std::string_view rest = actions.substr(1);;) {
        const Split action = split_once(rest, ';');
        const Split a = split_once(action.head, ':');
        const std::string_view verb = a.head;
        const bool is_step = verb == "s" || (verb.size() == 3 && verb[0] == 'S');
        const bool is_cont = verb == "c" || (verb.size() == 3 && verb[0] == 'C');
        if (!is_step && !is_cont) return std::nullopt;
        if (verb.size() == 3 && !parse_hex_u64(verb.substr(1))) return std::nullopt;
        VContAction act{is_step};
        if (a.found) {
            const auto t = parse_thread_id(a.tail, threads);
            if (!t) return std::nullopt;
            act.thread = *t;
        }
        parsed.push_back(act);
        if (!action.found) return parsed;
        rest = action.tail;
    }
}

// Each thread's action in a vCont: the index of the leftmost that names it (0, "any thread",
// names `current`), or nullopt for none.
std::vector<std::optional<size_t>> vcont_owners(const std::vector<VContAction>& actions, unsigned threads,
                                                unsigned current) {
    std::vector<std::optional<size_t>> owner(threads);
    for (size_t i = 0; i < actions.size(); ++i) {
        const ThreadSel& sel = actions[i].thread;
        for (unsigned t = 0; t < threads; ++t) {
            const bool named = sel.kind == ThreadSel::Kind::All || (sel.kind == ThreadSel::Kind::One && sel.index == t) ||
                               (sel.kind == ThreadSel::Kind::Any && t == current);
            if (named && !owner[t]) owner[t] = i;
        }
    }
    return owner;
}

// vCont's step: the thread the leftmost step action that got threads steps (`current` if it is
// among them, else the first), or nullopt if no thread steps. owner[t]: thread t's action.
std::optional<unsigned> vcont_step(const std::vector<VContAction>& actions,
                                   const std::vector<std::optional<size_t>>& owner, unsigned current) {
    for (size_t i = 0; i < actions.size(); ++i) {
        if (!actions[i].step) continue;
        if (owner[current] == i) return current;
        for (unsigned t = 0; t < owner.size(); ++t)
            if (owner[t] == i) return t;
    }
    return std::nullopt;
}

}  // namespace

Session::Session(DebugTarget& target) : m_target(target), m_threads(target.threads()) {
    assert(m_threads >= 1);
    stop_reply(m_target.attach());
}

std::vector<std::string> Session::handle(std::string_view payload) {
    // All-stop: nothing but Ctrl-C is expected while running ("Interrupts"); a stray packet
    // then gets no reply, which would otherwise be taken for the stop reply.
    if (m_running || m_finished) return {};
    return dispatch(payload);
}

Session::Replies Session::dispatch(std::string_view payload) {
    if (payload.empty()) return {""};
    const std::string_view args = payload.substr(1);
    switch (payload[0]) {
        case '?':
            return {stop_reply_text(m_last_stop)};
        case 'g':
            return {args.empty() ? read_registers() : std::string(kMalformed)};
        case 'G':
            return {write_registers(args)};
        case 'p':
            return {read_register(args)};
        case 'P':
            return {write_register(args)};
        case 'm':
            return {read_memory(args)};
        case 'M':
            return {write_memory(args, false)};
        case 'X':
            return {write_memory(args, true)};
        case 'Z':
            return {point(args, true)};
        case 'z':
            return {point(args, false)};
        case 'c':
            return resume_packet(args, false, false);
        case 's':
            return resume_packet(args, true, false);
        case 'C':
            return resume_packet(args, false, true);
        case 'S':
            return resume_packet(args, true, true);
        case 'H':
            return {set_thread(args)};
        case 'b':
            return reverse_packet(payload);
        case 'T':
            return {thread_alive(args)};
        case 'D':
            return detach();
        case 'k':
            return kill();
        case 'q':
            return handle_query(payload);
        case 'Q':
            return handle_set(payload);
        case 'v':
            return handle_v(payload);
        default:
            return {""};  // "Packets": an unsupported packet gets the empty reply
    }
}

// --- queries ("General Query Packets") ------------------------------------------------------

Session::Replies Session::handle_query(std::string_view p) {
    if (p == "qSupported") return {query_supported({})};
    if (p.starts_with("qSupported:")) return {query_supported(p.substr(11))};
    if (p.starts_with("qXfer:features:read:")) return {query_xfer(p.substr(20))};
    if (p == "qAttached" || p.starts_with("qAttached:")) return {"1"};  // we attached to a running VM
    if (p == "qC") return {fmt::format("QC{:x}", m_g_thread + 1)};
    if (p == "qfThreadInfo") return {query_thread_list(true)};
    if (p == "qsThreadInfo") return {query_thread_list(false)};
    if (p.starts_with("qThreadExtraInfo,")) return {query_thread_extra(p.substr(17))};
    if (p.starts_with("qRcmd,")) return monitor(p.substr(6));
    if (p == "qSymbol::" || p.starts_with("qSymbol:")) return {std::string(kOk)};  // no symbols wanted
    if (p == "qqemu.sstepbits") return {"ENABLE=1,NOIRQ=2,NOTIMER=4"};
    if (p == "qqemu.sstep") return {fmt::format("0x{:x}", m_sstep)};
    if (p == "qqemu.PhyMemMode") return {m_physical ? "1" : "0"};
    return {""};
}

Session::Replies Session::handle_set(std::string_view p) {
    if (p == "QStartNoAckMode") {
        // "Packet Acknowledgment": this packet and its OK are still acknowledged; the caller
        // acked the packet before handing it to us, so no_ack() applies from the next one.
        m_no_ack = true;
        return {std::string(kOk)};
    }
    if (p.starts_with("Qqemu.sstep=")) return {set_sstep(p.substr(12))};
    if (p.starts_with("Qqemu.PhyMemMode:")) return {set_phy_mem_mode(p.substr(17))};
    return {""};
}

Session::Replies Session::handle_v(std::string_view p) {
    if (p == "vCont?") return {"vCont;c;C;s;S"};
    if (p.starts_with("vCont")) return vcont(p.substr(5));
    return {""};  // vMustReplyEmpty, and every v packet we lack (vRun, vFile, vKill, ...)
}

std::string Session::query_supported(std::string_view features) {
    // gdb offers swbreak+/hwbreak+ when it understands those stop reasons; they are reported
    // only then ("Stop Reply Packets": swbreak).
    for (std::string_view rest = features; !rest.empty();) {
        const Split f = split_once(rest, ';');
        if (f.head == "swbreak+") m_gdb_swbreak = true;
        if (f.head == "hwbreak+") m_gdb_hwbreak = true;
        rest = f.tail;
    }
    std::string reply = fmt::format("PacketSize={:x}", kMaxPacket);
    if (m_target.feature_document("target.xml")) reply += ";qXfer:features:read+";
    reply += ";swbreak+;hwbreak+;vContSupported+;QStartNoAckMode+";
    if (m_target.can_reverse()) reply += ";ReverseStep+;ReverseContinue+";
    return reply;
}

// qXfer:features:read:ANNEX:OFFSET,LENGTH: `m` and a chunk when more follows, `l` with the last.
std::string Session::query_xfer(std::string_view args) {
    const Split a = split_once(args, ':');
    const auto range = parse_pair(a.tail);
    if (!a.found || !range) return std::string(kMalformed);
    const auto doc = m_target.feature_document(a.head);
    if (!doc) return std::string(kNoAnnex);
    const auto [offset, length] = *range;
    if (offset >= doc->size()) return "l";
    const size_t count = static_cast<size_t>(std::min<uint64_t>(length, kMaxDataChunk));
    const std::string_view chunk = std::string_view(*doc).substr(static_cast<size_t>(offset), count);
    const bool last = offset + chunk.size() >= doc->size();
    // Built with append, not operator+ on a C string: GCC 12 at -O3 reports a false -Wrestrict there.
    std::string reply(last ? "l" : "m");
    reply.append(chunk);
    return reply;
}

std::string Session::query_thread_list(bool first) {
    if (first) m_next_thread_info = 0;
    if (m_next_thread_info >= m_threads) return "l";
    std::string reply = "m";
    const unsigned end = std::min(m_threads, m_next_thread_info + kThreadsPerReply);
    for (unsigned t = m_next_thread_info; t < end; ++t)
        reply += fmt::format("{}{:x}", t == m_next_thread_info ? "" : ",", t + 1);
    m_next_thread_info = end;
    return reply;
}

std::string Session::query_thread_extra(std::string_view id) {
    const auto t = parse_thread_id(id, m_threads);
    if (!t || t->kind != ThreadSel::Kind::One) return std::string(kMalformed);
    return text_to_hex(m_target.thread_info(t->index));
}

// H op thread-id: op g (registers, memory) or c (step, continue). 0 and -1 keep the thread.
std::string Session::set_thread(std::string_view args) {
    if (args.empty() || (args[0] != 'g' && args[0] != 'c')) return std::string(kMalformed);
    const auto t = parse_thread_id(args.substr(1), m_threads);
    if (!t) return std::string(kMalformed);
    if (t->kind == ThreadSel::Kind::One) (args[0] == 'g' ? m_g_thread : m_c_thread) = t->index;
    return std::string(kOk);
}

std::string Session::thread_alive(std::string_view id) {
    const auto t = parse_thread_id(id, m_threads);
    return std::string(t && t->kind == ThreadSel::Kind::One ? kOk : kMalformed);
}

// --- registers and memory ("Packets": g, G, p, P, m, M, X) ---------------------------------

std::string Session::read_registers() {
    std::string reply;
    for (unsigned r = 0; r < m_target.g_register_count(); ++r) {
        const auto value = m_target.read_register(m_g_thread, r);
        if (!value) return std::string(kMalformed);
        reply += bytes_to_hex(*value);
    }
    return reply;
}

// G: the whole `g` layout or nothing; nothing is written unless every size matches.
std::string Session::write_registers(std::string_view hex) {
    const auto bytes = hex_to_bytes(hex);
    if (!bytes) return std::string(kMalformed);
    std::vector<size_t> sizes;
    size_t total = 0;
    for (unsigned r = 0; r < m_target.g_register_count(); ++r) {
        const auto value = m_target.read_register(m_g_thread, r);
        if (!value) return std::string(kMalformed);
        sizes.push_back(value->size());
        total += value->size();
    }
    if (total != bytes->size()) return std::string(kMalformed);
    const std::span<const uint8_t> all(*bytes);
    size_t at = 0;
    for (unsigned r = 0; r < sizes.size(); at += sizes[r], ++r)
        if (!m_target.write_register(m_g_thread, r, all.subspan(at, sizes[r]))) return std::string(kMalformed);
    return std::string(kOk);
}

std::string Session::read_register(std::string_view regnum) {
    const auto r = parse_regnum(regnum);
    if (!r) return std::string(kMalformed);
    const auto value = m_target.read_register(m_g_thread, *r);
    return value ? bytes_to_hex(*value) : std::string(kMalformed);
}

std::string Session::write_register(std::string_view args) {
    const Split a = split_once(args, '=');
    const auto r = parse_regnum(a.head);
    const auto value = hex_to_bytes(a.tail);
    if (!a.found || !r || !value || value->empty()) return std::string(kMalformed);
    return std::string(m_target.write_register(m_g_thread, *r, *value) ? kOk : kMalformed);
}

// m addr,length: as many bytes as can be read from addr on (a short reply is allowed), at
// most kMaxDataChunk; E14 if not even the first one.
std::string Session::read_memory(std::string_view args) {
    const auto range = parse_pair(args);
    if (!range) return std::string(kMalformed);
    const auto [addr, asked] = *range;
    const size_t len = static_cast<size_t>(clamp_to_top(addr, std::min<uint64_t>(asked, kMaxDataChunk)));
    if (len == 0) return "";
    std::vector<uint8_t> buf(len);
    const size_t got = std::min(len, m_target.read_memory(m_g_thread, addr, buf, m_physical));
    if (got == 0) return std::string(kFault);
    return bytes_to_hex(std::span<const uint8_t>(buf).first(got));
}

// M addr,length:HEX and X addr,length:BINARY (already unescaped by PacketReader). "X addr,0:"
// is gdb's probe for X.
std::string Session::write_memory(std::string_view args, bool binary) {
    const Split a = split_once(args, ':');
    const auto range = parse_pair(a.head);
    if (!a.found || !range) return std::string(kMalformed);
    const auto [addr, len] = *range;
    std::vector<uint8_t> data;
    if (binary) {
        data.assign(a.tail.begin(), a.tail.end());
    } else {
        auto hex = hex_to_bytes(a.tail);
        if (!hex) return std::string(kMalformed);
        data = std::move(*hex);
    }
    if (data.size() != len || clamp_to_top(addr, len) != len) return std::string(kMalformed);
    if (len == 0) return std::string(kOk);
    const size_t put = m_target.write_memory(m_g_thread, addr, data, m_physical);
    return std::string(put >= len ? kOk : kFault);
}

// Z/z type,addr,kind. A type the target lacks gets the empty reply, so gdb stops using it. A z
// of a point that is not set is an error, E22 as QEMU's stub answers it (gdb only removes what
// it inserted, so it never sees one).
std::string Session::point(std::string_view args, bool insert) {
    const Split t = split_once(args, ',');
    const Split a = split_once(t.tail, ',');
    const auto type = parse_hex_u64(t.head);
    const auto addr = parse_hex_u64(a.head);
    const auto kind = parse_hex_u64(a.tail);
    if (!t.found || !a.found || !type || !addr || !kind) return std::string(kMalformed);
    if (*type > static_cast<uint64_t>(PointType::Access)) return "";
    const auto pt = static_cast<PointType>(*type);
    if (!m_target.supports(pt)) return "";
    if (!insert) return std::string(m_target.remove_point(pt, *addr, *kind) ? kOk : kInvalid);
    return std::string(m_target.insert_point(pt, *addr, *kind) ? kOk : kMalformed);
}

// --- execution ("Packets": c, s, C, S, vCont, D, k) -----------------------------------------

// c, s, C sig, S sig. The signal is not delivered (we never inject one); resuming at another
// address ("c addr") is refused, as a target has no generic pc to set.
Session::Replies Session::resume_packet(std::string_view args, bool step, bool with_signal) {
    std::string_view addr = args;
    if (with_signal) {
        const Split s = split_once(args, ';');
        const auto sig = parse_hex_u64(s.head);
        if (!sig || *sig > 0xff) return {std::string(kMalformed)};
        addr = s.tail;
    }
    if (!addr.empty()) return {std::string(kMalformed)};
    return step ? step_thread(m_c_thread) : resume(ThreadSet(m_threads, true));
}

// vCont;ACTION[:TID]... with actions c, Cxx, s, Sxx. "Packets", vCont: each thread takes the
// leftmost action that names it (an action without thread id names every thread, 0 the
// current one), and a thread no action names stays stopped; gdb relies on that to step one
// thread in software (`vCont;c:N` to a breakpoint after the instruction). A step action wins:
// that one thread runs one instruction and the others get no time (all-stop allows it: a
// thread told to continue may be stopped again before it ran).
Session::Replies Session::vcont(std::string_view actions) {
    const auto parsed = parse_vcont(actions, m_threads);
    if (!parsed) return {std::string(kMalformed)};
    const auto owner = vcont_owners(*parsed, m_threads, m_c_thread);
    if (const auto stepped = vcont_step(*parsed, owner, m_c_thread)) return step_thread(*stepped);
    ThreadSet run(m_threads);
    for (unsigned t = 0; t < m_threads; ++t) run[t] = owner[t].has_value();
    return resume(run);
}

// bs (reverse step: the current thread's last instruction undone) and bc (reverse continue),
// "Packets"; the empty reply where the target cannot run backwards.
Session::Replies Session::reverse_packet(std::string_view p) {
    if (!m_target.can_reverse() || (p != "bs" && p != "bc")) return {""};
    return {stop_reply(p == "bs" ? m_target.reverse_step(m_c_thread) : m_target.reverse_continue())};
}

Session::Replies Session::step_thread(unsigned thread) {
    // qqemu.sstep NOIRQ: an interrupt pending at the step stays pending (QEMU's default).
    const StepFlags flags{.take_interrupts = (m_sstep & kSstepNoIrq) == 0};
    return {stop_reply(m_target.step(thread, flags))};
}

Session::Replies Session::resume(const ThreadSet& run) {
    m_target.resume(run);
    m_running = true;
    return {};
}

Session::Replies Session::detach() {
    m_target.detach();
    m_finished = true;
    return {std::string(kOk)};
}

// "k": no reply; gdb takes a closed connection as success.
Session::Replies Session::kill() {
    m_target.kill();
    m_finished = true;
    return {};
}

std::string Session::on_stop(const StopReason& reason) {
    assert(m_running);
    return stop_reply(reason);
}

std::string Session::on_interrupt() {
    if (!m_running) return "";
    StopReason reason = m_target.interrupt();
    return stop_reply(reason);
}

void Session::on_disconnect() {
    if (m_finished) return;
    m_target.detach();
    m_finished = true;
}

// --- stop replies ("Stop Reply Packets") ----------------------------------------------------

std::string Session::stop_reply(const StopReason& reason) {
    m_running = false;
    m_last_stop = reason;
    if (reason.kind == StopReason::Kind::Exited) {
        m_finished = true;
    } else {
        assert(reason.thread < m_threads);
        m_g_thread = m_c_thread = reason.thread;
    }
    return stop_reply_text(reason);
}

std::string Session::stop_reply_text(const StopReason& reason) const {
    if (reason.kind == StopReason::Kind::Exited) return fmt::format("W{:02x}", static_cast<uint8_t>(reason.exit_code));
    std::string reply = fmt::format("T{:02x}thread:{:x};", static_cast<uint8_t>(reason.signal), reason.thread + 1);
    if (reason.kind == StopReason::Kind::Breakpoint) {
        if (reason.point == PointType::Software && m_gdb_swbreak) reply += "swbreak:;";
        if (reason.point == PointType::Hardware && m_gdb_hwbreak) reply += "hwbreak:;";
    }
    if (reason.kind == StopReason::Kind::Watch) {
        if (const char* name = watch_name(reason.point)) reply += fmt::format("{}:{:x};", name, reason.data_address);
    }
    if (reason.history == StopReason::History::Begin) reply += "replaylog:begin;";
    if (reason.history == StopReason::History::End) reply += "replaylog:end;";
    return reply;
}

// --- monitor commands (qRcmd) and QEMU's packets --------------------------------------------

// qRcmd,HEX: the output as `O` packets (console output, "Stop Reply Packets"), then OK. An
// unknown command is answered with a hint, not an error, which gdb would only show as
// "Protocol error".
Session::Replies Session::monitor(std::string_view hex_command) {
    const auto bytes = hex_to_bytes(hex_command);
    if (!bytes) return {std::string(kMalformed)};
    const std::string command(bytes->begin(), bytes->end());
    const std::string output = monitor_command(trim(command));
    Replies replies;
    for (size_t at = 0; at < output.size(); at += kMaxDataChunk)
        replies.push_back(std::string("O").append(text_to_hex(std::string_view(output).substr(at, kMaxDataChunk))));
    replies.emplace_back(kOk);
    return replies;
}

std::string Session::monitor_command(std::string_view command) {
    const Split words = split_once(command, ' ');
    const std::string_view arg = trim(words.tail);
    if (words.head == "help") return help_text();
    if (words.head == "phys") return monitor_phys(arg);
    if (words.head == "sstep") return monitor_sstep(arg);
    if (auto out = m_target.monitor(command)) return std::move(*out);
    return fmt::format("unknown monitor command '{}': 'monitor help' lists them\n", command);
}

std::string Session::help_text() {
    std::string text =
        "phys [on|off]   m/M/X (x, set, dump in gdb) take guest-physical addresses (on) or go\n"
        "                through the current thread's address translation (off, the default)\n"
        "sstep [BITS]    show or set the single-step flags, as QEMU's qqemu.sstep: 1 ENABLE (must\n"
        "                be set), 2 NOIRQ (an interrupt pending at a step stays pending; clear:\n"
        "                the step enters its handler), 4 NOTIMER (accepted, no other effect)\n"
        "help            this list\n";
    if (auto target_help = m_target.monitor("help")) text += *target_help;
    return text;
}

std::string Session::monitor_phys(std::string_view arg) {
    if (arg == "on" || arg == "off")
        m_physical = arg == "on";
    else if (!arg.empty())
        return "usage: monitor phys [on|off]\n";
    return m_physical ? "phys on: memory addresses are guest-physical\n"
                      : "phys off: memory addresses are virtual, translated as the current thread does\n";
}

std::string Session::monitor_sstep(std::string_view arg) {
    if (!arg.empty() && set_sstep(arg) != kOk)
        return fmt::format("sstep: '{}' is not a hex value of bits 1 (set), 2 and 4\n", arg);
    return fmt::format("sstep 0x{:x}: a pending interrupt is {} by a step\n", m_sstep,
                       (m_sstep & kSstepNoIrq) != 0 ? "left pending" : "taken");
}

// Qqemu.sstep=N (hex, QEMU takes a 0x prefix too). A value without ENABLE would ask for steps
// that are not single, which no target of ours does: refused.
std::string Session::set_sstep(std::string_view value) {
    if (value.starts_with("0x") || value.starts_with("0X")) value.remove_prefix(2);
    const auto bits = parse_hex_u64(value);
    if (!bits || (*bits & ~uint64_t{kSstepEnable | kSstepNoIrq | kSstepNoTimer}) != 0 || (*bits & kSstepEnable) == 0)
        return std::string(kInvalid);
    m_sstep = static_cast<unsigned>(*bits);
    return std::string(kOk);
}

std::string Session::set_phy_mem_mode(std::string_view value) {
    if (value != "0" && value != "1") return std::string(kInvalid);
    m_physical = value == "1";
    return std::string(kOk);
}

}  // namespace trapeze::gdb
