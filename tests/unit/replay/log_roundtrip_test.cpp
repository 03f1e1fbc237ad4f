// What replay relies on: every event the recorder appended comes back, in order, byte for byte,
// across chunks of any fill; the header and end record come back; a recording cut short is
// read up to what reached the file; neither side's memory grows with the recording.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <random>

#include "replay_test_util.hpp"

namespace trapeze::replay::test {
namespace {

constexpr EventKind kInputKinds[] = {EventKind::ConsoleInput, EventKind::NetFrame,   EventKind::DiskRead,
                                     EventKind::DiskChecksum, EventKind::Entropy,    EventKind::Clock,
                                     EventKind::Checkpoint,   EventKind::OutputCheck};

// A valid payload of `kind`; `n` picks the length of the kinds that take any.
std::vector<uint8_t> payload_of(EventKind kind, size_t n, uint8_t seed) {
    switch (kind) {
        case EventKind::DiskChecksum: {
            const auto p = DiskChecksum{n * 512, 0xfeedull * seed}.encode();
            return {p.begin(), p.end()};
        }
        case EventKind::Clock: {
            const auto p = ClockReading{1'700'000'000ull + n, seed}.encode();
            return {p.begin(), p.end()};
        }
        case EventKind::OutputCheck: {
            const auto p = OutputCheck{0x1234ull * seed, n}.encode();
            return {p.begin(), p.end()};
        }
        case EventKind::DiskRead: {
            auto p = bytes(8 + n, seed);
            store_le<uint64_t>(p.data(), 4096ull * n);
            return p;
        }
        case EventKind::Checkpoint:
            return bytes(1 + n % 100, seed);
        default:
            return bytes(n, seed);
    }
}

// `count` events cycling through every kind, lengths 0 to about 3 KiB, counts rising by 0-4
// (so several events share a count).
std::vector<Stored> mixed_events(size_t count, uint64_t start, unsigned seed = 1) {
    std::mt19937 rng(seed);
    std::vector<Stored> out;
    uint64_t icount = start;
    for (size_t i = 0; i < count; ++i) {
        const EventKind kind = kInputKinds[i % std::size(kInputKinds)];
        const size_t n = i % 5 == 0 ? 0 : rng() % 3000;
        out.push_back({icount, kind, static_cast<uint16_t>(i % 3), payload_of(kind, n, static_cast<uint8_t>(i))});
        icount += rng() % 5;
    }
    return out;
}

void write_log(const std::string& path, const std::vector<Stored>& events, const WriterOptions& options,
               const EndRecord& end) {
    auto w = LogWriter::create(path, test_header(), options);
    ASSERT_TRUE(w.ok()) << w.error().message;
    for (const auto& e : events) ASSERT_TRUE(w->append(e.icount, e.kind, e.source, e.payload).ok());
    ASSERT_TRUE(w->finish(end).ok());
}

TEST(ReplayLog, RoundTripsEveryKindAcrossManyChunks) {
    TempDir dir;
    const auto events = mixed_events(2000, test_header().start_icount);
    const EndRecord end{events.back().icount + 10, 0xabcdef, 4242};
    auto w = LogWriter::create(dir.path("log"), test_header(), {.chunk_bytes = 16 * 1024});
    ASSERT_TRUE(w.ok()) << w.error().message;
    for (const auto& e : events) ASSERT_TRUE(w->append(e.icount, e.kind, e.source, e.payload).ok());
    ASSERT_TRUE(w->finish(end).ok());
    EXPECT_GT(w->chunks(), 50u);

    auto r = LogReader::open(dir.path("log"));
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->header().start_icount, test_header().start_icount);
    EXPECT_EQ(r->header().guest_time_rate, test_header().guest_time_rate);
    EXPECT_EQ(r->header().machine, test_header().machine);
    EXPECT_EQ(r->version().major, kMajorVersion);
    EXPECT_EQ(r->version().minor, kMinorVersion);
    const auto back = read_all(*r);
    ASSERT_FALSE(back.error) << back.error->message;
    EXPECT_EQ(back.events, events);
    EXPECT_TRUE(back.complete);
    EXPECT_EQ(r->chunks_read(), w->chunks());
    EXPECT_EQ(r->events_read(), events.size());
    auto got = r->end_record();
    ASSERT_TRUE(got.ok()) << got.error().message;
    EXPECT_EQ(got->icount, end.icount);
    EXPECT_EQ(got->output_hash, end.output_hash);
    EXPECT_EQ(got->output_bytes, end.output_bytes);
    // After the end, the end again.
    auto again = r->next();
    ASSERT_TRUE(again.ok());
    EXPECT_FALSE(again->has_value());
}

// The typed payloads decode to what was encoded.
TEST(ReplayLog, TypedPayloadsDecodeAsEncoded) {
    const auto clock = ClockReading{123, 456}.encode();
    EXPECT_EQ(ClockReading::decode(clock).value, 123u);
    EXPECT_EQ(ClockReading::decode(clock).extra, 456u);
    const auto check = OutputCheck{0xdead, 77}.encode();
    EXPECT_EQ(OutputCheck::decode(check).hash, 0xdeadu);
    EXPECT_EQ(OutputCheck::decode(check).bytes, 77u);
    const auto disk = DiskChecksum{1 << 20, 99}.encode();
    EXPECT_EQ(DiskChecksum::decode(disk).size, 1u << 20);
    EXPECT_EQ(DiskChecksum::decode(disk).checksum, 99u);
    const auto read = payload_of(EventKind::DiskRead, 10, 3);
    EXPECT_EQ(DiskRead::decode(read).offset, 40960u);
    EXPECT_EQ(DiskRead::decode(read).data.size(), 10u);
}

// Events of exactly half a chunk: each second one fills its chunk, which goes to the file at
// once (a crash after it loses nothing); the next chunk starts empty.
TEST(ReplayLog, WritesAnExactlyFullChunkAtOnce) {
    TempDir dir;
    auto w = LogWriter::create(dir.path("log"), test_header(), {.chunk_bytes = 64});
    ASSERT_TRUE(w.ok()) << w.error().message;
    std::vector<Stored> events;
    for (uint32_t i = 0; i < 10; ++i) {
        events.push_back({2000 + i, EventKind::Entropy, 0, bytes(16, static_cast<uint8_t>(i))});
        const uint64_t before = w->file_bytes();
        ASSERT_TRUE(w->append(events.back().icount, EventKind::Entropy, 0, events.back().payload).ok());
        EXPECT_EQ(w->chunks(), (i + 1) / 2) << "after event " << i;
        EXPECT_EQ(w->file_bytes() > before, i % 2 == 1) << "after event " << i;
    }
    ASSERT_TRUE(w->finish({3000, 1, 2}).ok());
    EXPECT_EQ(w->chunks(), 6u);  // five full, one with the end record
    auto back = open_and_read(dir, read_bytes(dir.path("log")), "copy");
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(back->events, events);
    EXPECT_TRUE(back->complete);
}

// Empty payloads, a payload of the largest size, and events larger than the chunk size (each
// in a chunk of its own) round-trip.
TEST(ReplayLog, RoundTripsEmptyLargestAndOversizedEvents) {
    TempDir dir;
    const std::vector<Stored> events = {
        {1000, EventKind::ConsoleInput, 0, {}},
        {1000, EventKind::NetFrame, 1, {}},
        {1001, EventKind::NetFrame, 1, bytes(kMaxPayload, 9)},
        {1001, EventKind::Entropy, 2, bytes(1000, 1)},
        {1002, EventKind::Entropy, 2, {}},
        {1003, EventKind::DiskRead, 3, payload_of(EventKind::DiskRead, kMaxPayload - 8, 4)},
    };
    write_log(dir.path("log"), events, {.chunk_bytes = 256}, {1003, 0, 0});
    auto r = LogReader::open(dir.path("log"));
    ASSERT_TRUE(r.ok()) << r.error().message;
    const auto back = read_all(*r);
    ASSERT_FALSE(back.error) << back.error->message;
    EXPECT_EQ(back.events, events);
    EXPECT_TRUE(back.complete);
}

// The options bound the chunk size; the largest allowed chunks also round-trip.
TEST(ReplayLog, RoundTripsTheLargestChunks) {
    TempDir dir;
    const auto events = mixed_events(800, 1000, 7);
    write_log(dir.path("log"), events, {.chunk_bytes = kMaxChunkBytes}, {events.back().icount, 0, 0});
    auto back = open_and_read(dir, read_bytes(dir.path("log")), "copy");
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(back->events, events);
}

// A long recording (about 24 MiB of events, incompressible) leaves both sides' buffers as they
// were at the start, within the format's bounds.
TEST(ReplayLog, MemoryStaysBoundedOverALongRecording) {
    TempDir dir;
    auto w = LogWriter::create(dir.path("log"), test_header());
    ASSERT_TRUE(w.ok()) << w.error().message;
    const size_t writer_buffers = w->buffer_bytes();
    EXPECT_LE(writer_buffers, kMaxChunkBytes + kChunkHeaderBytes + kMaxCompressedBytes);
    std::mt19937_64 rng(5);
    std::vector<uint8_t> frame(1500);
    constexpr unsigned kFrames = 16'000;
    for (unsigned i = 0; i < kFrames; ++i) {
        for (auto& b : frame) b = static_cast<uint8_t>(rng());
        ASSERT_TRUE(w->append(1000 + i, EventKind::NetFrame, 0, frame).ok());
        ASSERT_EQ(w->buffer_bytes(), writer_buffers);
    }
    ASSERT_TRUE(w->finish({1000 + kFrames, 0, 0}).ok());
    EXPECT_GT(w->file_bytes(), 20u << 20);

    auto r = LogReader::open(dir.path("log"));
    ASSERT_TRUE(r.ok()) << r.error().message;
    const size_t reader_buffers = r->buffer_bytes();
    EXPECT_LE(reader_buffers, kMaxChunkBytes + kMaxCompressedBytes);
    uint64_t n = 0;
    for (;;) {
        auto e = r->next();
        ASSERT_TRUE(e.ok()) << e.error().message;
        if (!e->has_value()) break;
        ASSERT_EQ((*e)->payload.size(), frame.size());
        ASSERT_EQ(r->buffer_bytes(), reader_buffers);
        ++n;
    }
    EXPECT_EQ(n, kFrames);
    EXPECT_TRUE(r->complete());
}

// A writer dropped without finish() writes what it buffered: the log is whole up to there,
// without an end record, and the reader says so.
TEST(ReplayLog, AWriterDroppedWithoutFinishLeavesAReadableUnfinishedLog) {
    TempDir dir;
    const auto events = mixed_events(300, 1000);
    {
        auto w = LogWriter::create(dir.path("log"), test_header(), {.chunk_bytes = 4096});
        ASSERT_TRUE(w.ok()) << w.error().message;
        for (const auto& e : events) ASSERT_TRUE(w->append(e.icount, e.kind, e.source, e.payload).ok());
    }
    auto r = LogReader::open(dir.path("log"));
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_TRUE(fails_with(r->end_record(), "has not been read to its end"));
    const auto back = read_all(*r);
    ASSERT_FALSE(back.error) << back.error->message;
    EXPECT_EQ(back.events, events);
    EXPECT_FALSE(back.complete);
    EXPECT_TRUE(fails_with(r->end_record(), "has no end record"));
    EXPECT_TRUE(fails_with(r->end_record(), "the file ends after chunk"));
}

// A writer killed (SIGKILL, no destructor) leaves the chunks it had written; the events still
// in its buffer are lost, and the reader stops cleanly where the file does.
TEST(ReplayLog, AKilledWritersLogIsReadUpToItsLastWholeChunk) {
    TempDir dir;
    const auto events = mixed_events(400, 1000, 3);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        auto w = LogWriter::create(dir.path("log"), test_header(), {.chunk_bytes = 64 * 1024});
        if (!w) ::_exit(1);
        for (size_t i = 0; i < events.size(); ++i) {
            const auto& e = events[i];
            if (!w->append(e.icount, e.kind, e.source, e.payload)) ::_exit(1);
            if (i == 99 && !w->flush()) ::_exit(1);
        }
        ::kill(::getpid(), SIGKILL);
        ::_exit(1);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "the writer failed before it was killed";

    auto r = LogReader::open(dir.path("log"));
    ASSERT_TRUE(r.ok()) << r.error().message;
    const auto back = read_all(*r);
    ASSERT_FALSE(back.error) << back.error->message;
    // The 300 events after the flush fill a few 64 KiB chunks and part of another.
    ASSERT_GT(back.events.size(), 100u);
    ASSERT_LT(back.events.size(), events.size());
    EXPECT_EQ(back.events,
              std::vector<Stored>(events.begin(), events.begin() + static_cast<ptrdiff_t>(back.events.size())));
    EXPECT_FALSE(back.complete);
    EXPECT_TRUE(fails_with(r->end_record(), "has no end record"));
}

}  // namespace
}  // namespace trapeze::replay::test
