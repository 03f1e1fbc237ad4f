// libFuzzer target: the replay log reader (replay/log_reader.hpp), as `trapeze run --replay`
// reads a log: the header, then chunk after chunk (checksums, zstd frames, events).
//
// Input (replay_log_input.hpp): byte 0 flags (bit 0: reseal the checksums; bit 1: the chunks
// hold their events uncompressed and the harness compresses them; bits 2-7: n, the chunk size
// of the re-written log below, 16 + 256 * n bytes), then a log file.
//
// The file is put in a memfd and read to its end with LogReader. Checked beyond the sanitizers:
//   * every event returned has a known kind (never the end record) and a payload that
//     check_payload() accepts, and its instruction count is never below the one before it nor
//     the header's start;
//   * the reader's buffers keep the size they had at open();
//   * after the last event, complete() holds exactly when end_record() gives a record, whose
//     count is not below the last event's;
//   * a log read without error is written again with LogWriter (same header, events and end
//     record, the chunk size from the flags) and read back: the same events, the same end.
//     So the writer takes whatever the reader accepts and the two agree on every field.
// Nothing is opened on the host: both logs are memfds.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <vector>

#include "replay/log_reader.hpp"
#include "replay/log_writer.hpp"
#include "replay_log_input.hpp"

using namespace trapeze;
using namespace trapeze::replay;

namespace {

// Copies of what was read are kept for the re-write up to this much payload.
constexpr size_t kMaxKept = size_t{4} << 20;

void require(bool ok) {
    if (!ok) __builtin_trap();
}

struct Kept {
    uint64_t icount;
    EventKind kind;
    uint16_t source;
    std::vector<uint8_t> payload;
    bool operator==(const Kept&) const = default;
};

struct Outcome {
    bool failed = false;
    bool kept_all = true;
    std::vector<Kept> events;
    std::optional<EndRecord> end;
};

// Two memfds, the same for every input: 0 holds the input's log, 1 the re-written one.
int memfd(int slot) {
    static const int fds[2] = {::memfd_create("replay-log", MFD_CLOEXEC), ::memfd_create("rewritten", MFD_CLOEXEC)};
    require(fds[slot] >= 0);
    return fds[slot];
}

UniqueFd reopen(int slot) {
    return UniqueFd(::dup(memfd(slot)));
}

// The memfd `slot`, holding `bytes` and nothing else.
UniqueFd holding(int slot, const std::vector<uint8_t>& bytes) {
    const int fd = memfd(slot);
    require(::ftruncate(fd, 0) == 0);
    for (size_t done = 0; done < bytes.size();) {
        const ssize_t n = ::pwrite(fd, bytes.data() + done, bytes.size() - done, static_cast<off_t>(done));
        require(n > 0);
        done += static_cast<size_t>(n);
    }
    return reopen(slot);
}

Outcome read_through(LogReader& r) {
    Outcome out;
    const size_t buffers = r.buffer_bytes();
    uint64_t last = r.header().start_icount;
    size_t kept = 0;
    for (;;) {
        auto e = r.next();
        require(r.buffer_bytes() == buffers);
        if (!e) {
            out.failed = true;
            require(!r.end_record().ok());
            return out;
        }
        if (!e->has_value()) break;
        const Event& ev = **e;
        require(is_known_kind(static_cast<uint16_t>(ev.kind)) && ev.kind != EventKind::End);
        require(check_payload(ev.kind, ev.payload.size()).ok());
        require(ev.icount >= last);
        last = ev.icount;
        kept += ev.payload.size();
        if (kept > kMaxKept) out.kept_all = false;
        if (out.kept_all) out.events.push_back({ev.icount, ev.kind, ev.source, {ev.payload.begin(), ev.payload.end()}});
    }
    auto end = r.end_record();
    require(end.ok() == r.complete());
    if (end.ok()) {
        require(end->icount >= last);
        out.end = *end;
    }
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    auto r = LogReader::open(holding(0, fuzz::replay_log_file({data, size})), "fuzz");
    if (!r) return 0;
    const Outcome first = read_through(*r);
    if (first.failed || !first.kept_all) return 0;

    const WriterOptions options{.chunk_bytes = kEventHeaderBytes + 256 * static_cast<size_t>(data[0] >> 2)};
    {
        auto w = LogWriter::create(holding(1, {}), "rewritten", r->header(), options);
        require(w.ok());
        for (const Kept& e : first.events) require(w->append(e.icount, e.kind, e.source, e.payload).ok());
        if (first.end) require(w->finish(*first.end).ok());
    }  // an unfinished writer writes what it buffered
    auto again = LogReader::open(reopen(1), "rewritten");
    require(again.ok());
    require(again->header().start_icount == r->header().start_icount);
    require(again->header().guest_time_rate == r->header().guest_time_rate);
    require(again->header().machine == r->header().machine);
    const Outcome second = read_through(*again);
    require(!second.failed && second.events == first.events);
    require(second.end.has_value() == first.end.has_value());
    if (first.end) {
        require(second.end->icount == first.end->icount);
        require(second.end->output_hash == first.end->output_hash);
        require(second.end->output_bytes == first.end->output_bytes);
    }
    return 0;
}
