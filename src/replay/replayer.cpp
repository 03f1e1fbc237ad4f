#include "replay/replayer.hpp"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "replay/net_backends.hpp"

namespace trapeze::replay {

Result<std::unique_ptr<Replayer>> Replayer::open(const std::string& path) {
    TRAPEZE_TRY_ASSIGN(log, LogReader::open(path));
    auto d = MachineDescription::decode(log.header().machine);
    if (!d) return make_error("replay log '{}': {}", path, d.error().message);
    if (log.header().guest_time_rate != d->instructions_per_tick)
        return make_error("replay log '{}': its header and its machine description disagree on the guest time rate", path);
    std::unique_ptr<Replayer> r(new Replayer(path, std::move(log), std::move(*d)));
    // The disks' checksums come first (--record-disk checksum): check_files compares them.
    while (const Next* n = r->peek()) {
        if (n->kind != EventKind::DiskChecksum) break;
        r->take();
    }
    return r;
}

Replayer::Replayer(std::string path, LogReader log, MachineDescription d)
    : Session(log.header().start_icount, d.tick_base, d.instructions_per_tick, d.wall_clock_start_ns, d.rng_seed),
      m_path(std::move(path)),
      m_log(std::move(log)),
      m_description(std::move(d)) {}

Replayer::Mark Replayer::mark() const {
    return Mark{m_taken, m_next ? m_next->used : 0, m_icount, m_start_icount, m_tick_base, m_output_hash, m_output_bytes};
}

// The log from its start again, the state as at its start.
Result<void> Replayer::reopen() {
    TRAPEZE_TRY_ASSIGN(log, LogReader::open(m_path));
    m_log = std::move(log);
    m_next.reset();
    m_exhausted = false;
    m_diverged.clear();
    m_taken = 0;
    m_start_icount = m_icount = m_log.header().start_icount;
    m_tick_base = m_description.tick_base;
    m_output_hash = m_output_bytes = 0;
    m_round_end = false;
    return ok();
}

Result<void> Replayer::rewind(const Mark& m) {
    TRAPEZE_TRY(reopen());
    while (m_taken < m.events) {
        if (peek() == nullptr) return make_error("replay log '{}': it has fewer than {} events now", m_path, m.events);
        take();
    }
    if (m.used > 0 && peek() != nullptr) m_next->used = m.used;
    m_icount = m.icount;
    m_start_icount = m.start_icount;
    m_tick_base = m.tick_base;
    m_output_hash = m.output_hash;
    m_output_bytes = m.output_bytes;
    return ok();
}

Result<void> Replayer::rewind_to_checkpoint(std::optional<uint64_t> index) {
    TRAPEZE_TRY(reopen());
    while (const Next* n = peek()) {  // the disks' checksums, as open() skips them
        if (n->kind != EventKind::DiskChecksum) break;
        take();
    }
    if (index) TRAPEZE_TRY(seek_checkpoint(*index));
    return ok();
}

Result<std::vector<Replayer::Checkpoint>> Replayer::checkpoints(const std::string& path) {
    TRAPEZE_TRY_ASSIGN(log, LogReader::open(path));
    std::vector<Checkpoint> out;
    for (;;) {
        TRAPEZE_TRY_ASSIGN(e, log.next());
        if (!e) return out;
        if (e->kind == EventKind::Checkpoint)
            out.push_back(Checkpoint{e->icount, std::string(e->payload.begin(), e->payload.end())});
    }
}

const Replayer::Next* Replayer::peek() {
    if (m_next) return &*m_next;
    if (m_exhausted) return nullptr;
    auto e = m_log.next();
    if (!e) {
        diverge(e.error().message);
        m_exhausted = true;
        return nullptr;
    }
    if (!*e) {
        m_exhausted = true;
        return nullptr;
    }
    const Event& ev = **e;
    m_next = Next{ev.icount, ev.kind, ev.source, {ev.payload.begin(), ev.payload.end()}, 0};
    return &*m_next;
}

const Replayer::Next* Replayer::next_here(EventKind kind, uint16_t source) {
    const Next* n = peek();
    return n != nullptr && n->kind == kind && n->source == source && n->icount == m_icount ? n : nullptr;
}

void Replayer::diverge(std::string what) {
    if (m_diverged.empty()) m_diverged = fmt::format("replay diverged at instruction {}: {}", m_icount, what);
}

Result<Replayer::Checkpoint> Replayer::seek_checkpoint(uint64_t index) {
    uint64_t seen = 0;
    while (const Next* n = peek()) {
        switch (n->kind) {
            case EventKind::Clock: m_tick_base += ClockReading::decode(n->payload).value; break;
            case EventKind::OutputCheck: {
                const OutputCheck c = OutputCheck::decode(n->payload);
                m_output_hash = c.hash;
                m_output_bytes = c.bytes;
                break;
            }
            case EventKind::Checkpoint:
                if (seen++ == index) {
                    Checkpoint c{n->icount, std::string(n->payload.begin(), n->payload.end())};
                    m_start_icount = m_icount = n->icount;
                    take();
                    return c;
                }
                break;
            default: break;
        }
        take();
    }
    if (!m_diverged.empty()) return Error{m_diverged};
    // Named by the index asked for, not by a count (index + 1 wraps at the largest index).
    if (seen == 0) return make_error("the recording has no checkpoint {}: it has none", index);
    return make_error("the recording has no checkpoint {}: it has {} (numbered from 0{})", index, seen,
                      seen == 1 ? std::string() : fmt::format(" to {}", seen - 1));
}

void Replayer::position(uint64_t icount, bool round_end) {
    record_position(icount, round_end);
    const Next* n = peek();
    if (n != nullptr && n->icount < icount)
        diverge(fmt::format("the recording's {} from source {} at instruction {} was not taken", kind_name(n->kind),
                            n->source, n->icount));
}

bool Replayer::console_byte(uint8_t& byte, const std::function<bool(uint8_t&)>&) {
    if (!m_round_end) return false;
    const Next* n = next_here(EventKind::ConsoleInput, 0);
    if (n == nullptr) return false;
    byte = n->payload[m_next->used++];
    if (m_next->used == m_next->payload.size()) take();
    return true;
}

size_t Replayer::entropy(uint16_t source, std::span<uint8_t> out, const std::function<size_t(std::span<uint8_t>)>&) {
    const Next* n = next_here(EventKind::Entropy, source);
    if (n == nullptr || n->payload.size() > out.size()) {
        diverge(fmt::format("virtio-rng {} asked for {} bytes the recording does not have here", source, out.size()));
        std::fill(out.begin(), out.end(), uint8_t{0});
        return out.size();
    }
    std::copy(n->payload.begin(), n->payload.end(), out.begin());
    const size_t size = n->payload.size();
    take();
    return size;
}

// One recorded piece of a disk read into data[span..] from byte `at` of that span.
bool Replayer::take_disk_piece(uint16_t source, uint64_t& offset, const virtio::ByteSpans& data, size_t& span, size_t& at) {
    const Next* n = next_here(EventKind::DiskRead, source);
    if (n == nullptr) return false;
    const DiskRead piece = DiskRead::decode(n->payload);
    if (piece.offset != offset) return false;
    for (size_t i = 0; i < piece.data.size();) {
        if (span == data.size()) return false;  // the recording read more than asked
        const size_t len = std::min(piece.data.size() - i, data[span].size() - at);
        std::memcpy(data[span].data() + at, piece.data.data() + i, len);
        i += len;
        at += len;
        if (at == data[span].size()) {
            ++span;
            at = 0;
        }
    }
    offset += piece.data.size();
    take();
    return true;
}

bool Replayer::disk_read(uint16_t source, uint64_t offset, const virtio::ByteSpans& data,
                         const std::function<bool(uint64_t, const virtio::ByteSpans&)>& host) {
    if (m_description.disk_mode == DiskMode::Checksum) return host(offset, data);  // the disk is as recorded
    const uint64_t start = offset;
    size_t span = 0, at = 0;
    while (span < data.size() && data[span].empty()) ++span;
    if (const Next* n = next_here(EventKind::DiskRead, source); n != nullptr && DiskRead::decode(n->payload).data.empty()) {
        take();  // the recorded read failed
        return false;
    }
    while (span < data.size()) {
        if (!take_disk_piece(source, offset, data, span, at)) {
            diverge(fmt::format("disk {} read at byte {} is not the recording's next input", source, start));
            return false;
        }
        while (span < data.size() && data[span].empty()) ++span;
    }
    return true;
}

Result<std::unique_ptr<virtio::NetBackend>> Replayer::net_backend(uint16_t source, const MakeBackend&) {
    return std::unique_ptr<virtio::NetBackend>(std::make_unique<ReplayNetBackend>(*this, source));
}

bool Replayer::take_net_frame(uint16_t source, const std::function<void(std::span<const uint8_t>)>& deliver) {
    if (!m_round_end) return false;
    const Next* n = next_here(EventKind::NetFrame, source);
    if (n == nullptr) return false;
    deliver(n->payload);
    take();
    return true;
}

// The recorded warp, at once; an idle guest with no recorded input or warp here will never
// get one: the recording went on from here, the replay cannot.
uint64_t Replayer::idle(uint64_t until_deadline, const std::function<void(uint64_t)>&) {
    if (const Next* n = next_here(EventKind::Clock, 0)) {
        const uint64_t warp = ClockReading::decode(n->payload).value;
        if (warp > until_deadline) diverge(fmt::format("a recorded wait of {} ticks passes the guest's next timer", warp));
        m_tick_base += warp;
        take();
        return warp;
    }
    const Next* n = peek();
    if (n != nullptr && n->icount == m_icount) return 0;  // an input comes at once
    if (n != nullptr) diverge(fmt::format("every hart waits, but the recording went on to instruction {}", n->icount));
    return 0;
}

std::string Replayer::end_message(uint64_t icount, uint64_t hash, uint64_t bytes) const {
    return fmt::format("replay complete: {} instructions, {} bytes of console output as recorded (hash {:016x})", icount,
                       bytes, hash);
}

// At a round's end: the recorded output checks of this position, checkpoints passed by, and
// whether the recording ends here.
bool Replayer::stop_here(std::string& why) {
    while (const Next* n = peek()) {
        if (n->icount != m_icount || (n->kind != EventKind::OutputCheck && n->kind != EventKind::Checkpoint)) break;
        if (n->kind == EventKind::OutputCheck) {
            const OutputCheck c = OutputCheck::decode(n->payload);
            if (c.hash != m_output_hash || c.bytes != m_output_bytes)
                diverge(fmt::format("the console output differs from the recording's ({} bytes, hash {:016x}; recorded {} bytes, {:016x})",
                                    m_output_bytes, m_output_hash, c.bytes, c.hash));
        }
        take();
    }
    if (!m_diverged.empty()) {
        why = m_diverged;
        return true;
    }
    if (!m_exhausted || m_next) return false;
    auto end = m_log.end_record();
    if (!end) {
        why = fmt::format("replay stopped at instruction {}: the recording {}", m_icount, end.error().message);
        return true;
    }
    if (m_icount < end->icount) return false;
    auto r = check_end(m_icount);
    why = r ? *r : r.error().message;
    return true;
}

Result<std::string> Replayer::check_end(uint64_t icount) {
    if (!m_diverged.empty()) return Error{m_diverged};
    if (peek() != nullptr)
        return make_error("replay diverged: the guest stopped at instruction {}, before the recording's input at {}", icount,
                          m_next->icount);
    auto end = m_log.end_record();
    if (!end) return make_error("replay stopped at instruction {}: the recording {}", icount, end.error().message);
    if (icount != end->icount)
        return make_error("replay diverged: it ended at instruction {}, the recording at {}", icount, end->icount);
    if (end->output_hash != m_output_hash || end->output_bytes != m_output_bytes)
        return make_error("replay diverged: {} bytes of console output (hash {:016x}), the recording {} ({:016x})",
                          m_output_bytes, m_output_hash, end->output_bytes, end->output_hash);
    return end_message(icount, m_output_hash, m_output_bytes);
}

}  // namespace trapeze::replay
