#include "replay/recorder.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <utility>

#include "arch/riscv64/board.hpp"
#include "base/guest_clock.hpp"
#include "base/host_random.hpp"
#include "replay/net_backends.hpp"

namespace trapeze::replay {

namespace {

// The console output's hash goes into the log after this much new output, or this many
// instructions with new output, so a replay stops near where it first differs.
constexpr uint64_t kCheckOutputBytes = 64 * 1024;
constexpr uint64_t kCheckOutputInstructions = 500'000'000;
// What a crash can lose: the log is written out at least this often (in instructions).
constexpr uint64_t kFlushInstructions = 2'000'000'000;
// The payload of one disk read event: its offset, then at most this much data.
constexpr size_t kDiskReadData = kMaxPayload - 64;

uint64_t wall_clock_ns() {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace

Result<std::unique_ptr<Recorder>> Recorder::create(const machine::MachineConfig& cfg, const RecordOptions& options) {
    TRAPEZE_TRY_ASSIGN(d, describe(cfg, options.disk_mode));
    d.wall_clock_start_ns = wall_clock_ns();
    d.tick_base = 0;
    d.instructions_per_tick = kInstructionsPerTick;
    TRAPEZE_TRY_ASSIGN(seed, host_random_bytes(arch::riscv64::kRngSeedBytes).context("the boot seed"));
    d.rng_seed = std::move(seed);
    Header h;
    h.start_icount = 0;
    h.guest_time_rate = kInstructionsPerTick;
    h.machine = d.encode();
    TRAPEZE_TRY_ASSIGN(log, LogWriter::create(options.path, h));
    std::unique_ptr<Recorder> r(new Recorder(options, d, std::move(log)));
    for (size_t i = 0; i < d.disk_crcs.size(); ++i) {
        const DiskChecksum c{d.disk_sizes[i], d.disk_crcs[i]};
        r->append(EventKind::DiskChecksum, static_cast<uint16_t>(i), c.encode());
    }
    TRAPEZE_TRY(r->m_error);
    return r;
}

Recorder::Recorder(const RecordOptions& options, const MachineDescription& d, LogWriter log)
    : Session(0, d.tick_base, d.instructions_per_tick, d.wall_clock_start_ns, d.rng_seed),
      m_options(options),
      m_log(std::move(log)) {
    m_scratch.reserve(kMaxPayload);
}

// A failed append stops the run at the next round's end (stop_here); later appends are refused
// by the writer itself.
void Recorder::append(EventKind kind, uint16_t source, std::span<const uint8_t> payload) {
    if (kind != EventKind::ConsoleInput) flush_console();
    if (!m_error) return;
    if (auto r = m_log.append(m_icount, kind, source, payload); !r) m_error = r;
}

// The console bytes of a round's end go in as one event, before anything that came after them.
void Recorder::flush_console() {
    if (m_console.empty()) return;
    append(EventKind::ConsoleInput, 0, m_console);
    m_console.clear();
}

void Recorder::position(uint64_t icount, bool round_end) {
    flush_console();
    record_position(icount, round_end);
}

bool Recorder::console_byte(uint8_t& byte, const std::function<bool(uint8_t&)>& terminal) {
    if (!terminal(byte)) return false;
    m_console.push_back(byte);
    if (m_console.size() == kMaxPayload) flush_console();
    return true;
}

size_t Recorder::entropy(uint16_t source, std::span<uint8_t> out, const std::function<size_t(std::span<uint8_t>)>& host) {
    const size_t n = host(out.first(std::min(out.size(), kMaxPayload)));
    append(EventKind::Entropy, source, out.first(n));
    return n;
}

// The data as read, in events of at most kDiskReadData bytes each with its own offset; a read
// that failed is one event with no data.
bool Recorder::disk_read(uint16_t source, uint64_t offset, const virtio::ByteSpans& data,
                         const std::function<bool(uint64_t, const virtio::ByteSpans&)>& host) {
    const bool ok = host(offset, data);
    if (m_options.disk_mode == DiskMode::Checksum) return ok;
    auto event = [&](uint64_t at) {
        m_scratch.resize(8);
        std::memcpy(m_scratch.data(), &at, 8);
    };
    event(offset);
    if (!ok) {
        append(EventKind::DiskRead, source, m_scratch);
        return false;
    }
    uint64_t at = offset;
    for (const auto& span : data) {
        for (size_t done = 0; done < span.size();) {
            const size_t n = std::min(span.size() - done, kDiskReadData - (m_scratch.size() - 8));
            m_scratch.insert(m_scratch.end(), span.begin() + static_cast<ptrdiff_t>(done),
                             span.begin() + static_cast<ptrdiff_t>(done + n));
            done += n;
            at += n;
            if (m_scratch.size() - 8 == kDiskReadData) {
                append(EventKind::DiskRead, source, m_scratch);
                event(at);
            }
        }
    }
    if (m_scratch.size() > 8) append(EventKind::DiskRead, source, m_scratch);
    return true;
}

Result<std::unique_ptr<virtio::NetBackend>> Recorder::net_backend(uint16_t source, const MakeBackend& host) {
    TRAPEZE_TRY_ASSIGN(backend, host());
    return std::unique_ptr<virtio::NetBackend>(std::make_unique<RecordingNetBackend>(*this, source, std::move(backend)));
}

void Recorder::net_frame(uint16_t source, std::span<const uint8_t> frame) {
    if (frame.size() > kMaxPayload) return;  // larger than any NIC delivers; never logged, never delivered
    append(EventKind::NetFrame, source, frame);
}

// The guest's time moves by the host time slept, never past the earliest deadline: a sleep cut
// short by host input moves it by less, one that reached the deadline by exactly that much.
uint64_t Recorder::idle(uint64_t until_deadline, const std::function<void(uint64_t ns)>& sleep) {
    flush_console();
    constexpr uint64_t kNsPerTick = 1'000'000'000 / GuestClock::kHz;
    const uint64_t start = GuestClock::host_ns();
    sleep(until_deadline > UINT64_MAX / kNsPerTick ? UINT64_MAX : until_deadline * kNsPerTick);
    const uint64_t slept = (GuestClock::host_ns() - start) / kNsPerTick;
    const uint64_t warp = std::min(slept, until_deadline);
    if (warp == 0) return 0;
    m_tick_base += warp;
    append(EventKind::Clock, 0, ClockReading{warp, 0}.encode());
    return warp;
}

void Recorder::check_output() {
    if (m_output_bytes == m_checked_bytes) return;
    append(EventKind::OutputCheck, 0, OutputCheck{m_output_hash, m_output_bytes}.encode());
    m_checked_bytes = m_output_bytes;
    m_checked_icount = m_icount;
}

// At every round's end: the output's hash now and then, a checkpoint when one is due, the log
// written out now and then. A recording stops only when it cannot go on.
bool Recorder::stop_here(std::string& why) {
    flush_console();
    if (m_output_bytes - m_checked_bytes >= kCheckOutputBytes || m_icount - m_checked_icount >= kCheckOutputInstructions)
        check_output();
    if (m_options.checkpoint_every != 0 && m_checkpointer && m_icount - m_last_checkpoint >= m_options.checkpoint_every) {
        m_last_checkpoint = m_icount;
        append(EventKind::OutputCheck, 0, OutputCheck{m_output_hash, m_output_bytes}.encode());
        if (auto name = m_checkpointer(m_icount); !name) {
            m_error = Error{fmt::format("checkpoint at instruction {}: {}", m_icount, name.error().message)};
        } else {
            append(EventKind::Checkpoint, 0, std::span(reinterpret_cast<const uint8_t*>(name->data()), name->size()));
            ++m_checkpoints;
        }
        if (auto f = m_log.flush(); !f && m_error) m_error = f;
    }
    if (m_icount - m_flushed_icount >= kFlushInstructions) {
        m_flushed_icount = m_icount;
        if (auto f = m_log.flush(); !f && m_error) m_error = f;
    }
    if (m_error) return false;
    why = fmt::format("record '{}': {}", m_options.path, m_error.error().message);
    return true;
}

Result<void> Recorder::finish(uint64_t icount) {
    flush_console();
    if (!m_error) return m_error;
    return m_log.finish(EndRecord{icount, m_output_hash, m_output_bytes});
}

}  // namespace trapeze::replay
