// The reader is the first thing that sees a log file anyone may have cut, flipped or crafted:
// each way a file can be wrong is refused with a message naming what and where (never a
// crash, a hang or an allocation the file chose), and a file cut short reads as the unfinished
// recording it is, up to its last whole chunk.
#include <sys/stat.h>

#include "replay_test_util.hpp"

namespace trapeze::replay::test {
namespace {

const std::vector<Stored> kSmallEvents = {
    {1000, EventKind::ConsoleInput, 0, {'l', 's', '\n'}}, {1000, EventKind::Entropy, 1, bytes(20, 1)},
    {1200, EventKind::NetFrame, 2, bytes(40, 2)},         {1300, EventKind::Clock, 0, bytes(16, 3)},
    {1300, EventKind::OutputCheck, 0, bytes(16, 4)},      {1400, EventKind::DiskRead, 3, bytes(30, 5)},
    {1500, EventKind::Checkpoint, 0, {'c', 'p', '1'}},    {1600, EventKind::ConsoleInput, 0, {}},
    {1700, EventKind::DiskChecksum, 4, bytes(16, 6)},     {1800, EventKind::Entropy, 1, bytes(8, 7)},
};

// kSmallEvents in chunks of at most 64 bytes of events (about 8 chunks, 700 bytes in all).
std::vector<uint8_t> small_log(const TempDir& dir) {
    auto w = LogWriter::create(dir.path("small"), test_header(), {.chunk_bytes = 64});
    EXPECT_TRUE(w.ok());
    for (const auto& e : kSmallEvents) EXPECT_TRUE(w->append(e.icount, e.kind, e.source, e.payload).ok());
    EXPECT_TRUE(w->finish({1900, 77, 3}).ok());
    return read_bytes(dir.path("small"));
}

size_t header_size(const std::vector<uint8_t>& file) {
    return kHeaderPrefixBytes + load_le<uint32_t>(file.data() + 12) + kChecksumBytes;
}

struct ChunkSpan {
    size_t offset = 0;
    size_t size = 0;
    uint32_t events = 0;
};

// The chunks of a well-formed log (no checks: the file is one the test made).
std::vector<ChunkSpan> chunks_of(const std::vector<uint8_t>& file) {
    std::vector<ChunkSpan> out;
    for (size_t at = header_size(file); at < file.size();) {
        const size_t size = kChunkHeaderBytes + load_le<uint32_t>(file.data() + at + 16);
        out.push_back({at, size, load_le<uint32_t>(file.data() + at + 8)});
        at += size;
    }
    return out;
}

std::vector<Stored> first_events(size_t n) {
    return {kSmallEvents.begin(), kSmallEvents.begin() + static_cast<ptrdiff_t>(n)};
}

// A log that opens and is then refused while reading, with a message containing `needle`.
::testing::AssertionResult read_fails(const TempDir& dir, const std::vector<uint8_t>& file, const std::string& needle) {
    auto back = open_and_read(dir, file);
    if (!back.ok()) return ::testing::AssertionFailure() << "open failed: " << back.error().message;
    if (!back->error) return ::testing::AssertionFailure() << "read " << back->events.size() << " events without error";
    return fails_with(Result<void>(*back->error), needle);
}

TEST(ReplayLogReader, ReadsAWholeSmallLog) {
    TempDir dir;
    const auto file = small_log(dir);
    EXPECT_GE(chunks_of(file).size(), 6u);
    auto back = open_and_read(dir, file);
    ASSERT_TRUE(back.ok()) << back.error().message;
    ASSERT_FALSE(back->error) << back->error->message;
    EXPECT_EQ(back->events, kSmallEvents);
    EXPECT_TRUE(back->complete);
}

// Cut anywhere: inside the header it is refused; anywhere after, it reads as an unfinished
// recording holding exactly the events of the chunks wholly before the cut.
TEST(ReplayLogReader, EveryTruncationIsRefusedOrReadAsUnfinished) {
    TempDir dir;
    const auto file = small_log(dir);
    const auto chunks = chunks_of(file);
    for (size_t n = 0; n < file.size(); ++n) {
        SCOPED_TRACE(::testing::Message() << "cut at " << n << " of " << file.size());
        write_bytes(dir.path("cut"), std::vector<uint8_t>(file.begin(), file.begin() + static_cast<ptrdiff_t>(n)));
        auto r = LogReader::open(dir.path("cut"));
        if (n < header_size(file)) {
            EXPECT_FALSE(r.ok());
            continue;
        }
        ASSERT_TRUE(r.ok()) << r.error().message;
        const auto back = read_all(*r);
        ASSERT_FALSE(back.error) << back.error->message;
        size_t whole = 0;
        for (const auto& c : chunks)
            if (c.offset + c.size <= n) whole += c.events;
        EXPECT_EQ(back.events, first_events(whole));
        EXPECT_FALSE(back.complete);
        EXPECT_TRUE(fails_with(r->end_record(), "has no end record"));
    }
}

TEST(ReplayLogReader, SaysWhereAnUnfinishedRecordingStops) {
    TempDir dir;
    const auto file = small_log(dir);
    const auto chunks = chunks_of(file);
    const auto end_after = [&](size_t n) -> Result<EndRecord> {
        write_bytes(dir.path("log"), std::vector<uint8_t>(file.begin(), file.begin() + static_cast<ptrdiff_t>(n)));
        auto r = LogReader::open(dir.path("log"));
        if (!r) return r.error();
        (void)read_all(*r);
        return r->end_record();
    };
    EXPECT_TRUE(fails_with(end_after(header_size(file)), "the file ends after its header"));
    EXPECT_TRUE(fails_with(end_after(chunks[2].offset), "the file ends after chunk 1 (instruction count 1200)"));
    EXPECT_TRUE(
        fails_with(end_after(chunks[2].offset + 60),
                   fmt::format("the file ends 60 bytes into chunk 2 at offset {} ({} bytes long); the events up "
                               "to chunk 1 (instruction count 1200) are whole",
                               chunks[2].offset, chunks[2].size)));
    EXPECT_TRUE(fails_with(end_after(chunks[2].offset + 3), "the file ends 3 bytes into chunk 2"));
}

TEST(ReplayLogReader, EveryBitFlipInTheHeaderIsRefused) {
    TempDir dir;
    const auto file = small_log(dir);
    for (size_t bit = 0; bit < header_size(file) * 8; ++bit) {
        auto flipped = file;
        flipped[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
        write_bytes(dir.path("flipped"), flipped);
        EXPECT_FALSE(LogReader::open(dir.path("flipped")).ok()) << "bit " << bit;
    }
}

// Every single-bit change of chunk 1 (header or data) is refused naming that chunk, after the
// events of chunk 0 and before any of its own.
TEST(ReplayLogReader, EveryBitFlipInAChunkIsRefusedNamingIt) {
    TempDir dir;
    const auto file = small_log(dir);
    const ChunkSpan c = chunks_of(file)[1];
    const uint32_t before = chunks_of(file)[0].events;
    for (size_t bit = c.offset * 8; bit < (c.offset + c.size) * 8; ++bit) {
        SCOPED_TRACE(::testing::Message() << "bit " << bit);
        auto flipped = file;
        flipped[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
        auto back = open_and_read(dir, flipped);
        ASSERT_TRUE(back.ok()) << back.error().message;
        ASSERT_TRUE(back->error.has_value());
        EXPECT_TRUE(fails_with(Result<void>(*back->error), fmt::format("chunk 1 at offset {}:", c.offset)));
        EXPECT_EQ(back->events, first_events(before));
    }
}

TEST(ReplayLogReader, RefusesAbsurdHeaderLengths) {
    TempDir dir;
    auto file = small_log(dir);
    auto edited = file;
    store_le<uint32_t>(edited.data() + 12, 0xffffffff);
    write_bytes(dir.path("log"), edited);
    EXPECT_TRUE(
        fails_with(LogReader::open(dir.path("log")), "the header's length is 4294967295 bytes; it must be 20 to"));
    edited = file;
    store_le<uint32_t>(edited.data() + 12, static_cast<uint32_t>(kMaxHeaderBody));  // within bounds, past the end
    edited.resize(1000);
    write_bytes(dir.path("log"), edited);
    EXPECT_TRUE(fails_with(LogReader::open(dir.path("log")), "the file is 1000 bytes; its header alone is"));
    // A description length running past the header's body, checksum right.
    edited = encode_header(test_header());
    store_le<uint32_t>(edited.data() + 32, 60000);
    store_le<uint64_t>(edited.data() + edited.size() - 8, snapshot::crc64({edited.data(), edited.size() - 8}));
    write_bytes(dir.path("log"), edited);
    EXPECT_TRUE(fails_with(LogReader::open(dir.path("log")), "runs past the end"));
}

TEST(ReplayLogReader, RefusesAbsurdChunkLengths) {
    TempDir dir;
    RawEvents ev;
    ev.add(1000, EventKind::Entropy, 0, bytes(10, 0));
    const auto edit = [&](const std::function<void(ChunkHeader&)>& f) {
        return raw_log({raw_chunk(0, ev, [&](ChunkHeader& c, std::vector<uint8_t>&) { f(c); })});
    };
    EXPECT_TRUE(read_fails(dir, edit([](ChunkHeader& c) { c.compressed_bytes = 0xffffffff; }),
                           "chunk 0 at offset 56: its compressed length is 4294967295 bytes; it must be 1 to 264192"));
    EXPECT_TRUE(read_fails(dir, edit([](ChunkHeader& c) { c.compressed_bytes = 0; }), "its compressed length is 0"));
    EXPECT_TRUE(read_fails(dir, edit([](ChunkHeader& c) { c.event_bytes = 10 << 20; }),
                           "it says it holds 10485760 bytes of events; a chunk holds 16 to 262144"));
    EXPECT_TRUE(read_fails(dir, edit([](ChunkHeader& c) { c.events = 0; }), "it says it holds 0 events in 26 bytes"));
    EXPECT_TRUE(
        read_fails(dir, edit([](ChunkHeader& c) { c.events = 1000; }), "it says it holds 1000 events in 26 bytes"));
    EXPECT_TRUE(read_fails(dir, edit([](ChunkHeader& c) { c.first_icount = 5000; }),
                           "its first instruction count 5000 is above its last"));
    // A length within the bounds that runs past the file's end is a torn last chunk.
    auto back = open_and_read(dir, edit([](ChunkHeader& c) { c.compressed_bytes = 5000; }));
    ASSERT_TRUE(back.ok());
    EXPECT_FALSE(back->error);
    EXPECT_FALSE(back->complete);
}

TEST(ReplayLogReader, RefusesEventsThatDoNotFitTheirChunk) {
    TempDir dir;
    RawEvents huge;
    huge.add(1000, static_cast<uint16_t>(EventKind::NetFrame), 0, bytes(10, 0), 0xffffffff);
    EXPECT_TRUE(read_fails(dir, raw_log({raw_chunk(0, huge)}),
                           "event 0 (byte 0 of the chunk): a payload of 4294967295 bytes, more than 65600"));
    RawEvents past;
    past.add(1000, EventKind::Entropy, 0, bytes(4, 0))
        .add(1001, static_cast<uint16_t>(EventKind::Entropy), 0, bytes(10, 0), 11);
    EXPECT_TRUE(read_fails(dir, raw_log({raw_chunk(0, past)}),
                           "event 1 (byte 20 of the chunk): its 11-byte payload runs past the chunk's end (46 bytes)"));
    RawEvents cut;
    cut.add(1000, EventKind::Entropy, 0, bytes(4, 0));
    cut.data.resize(cut.data.size() + 10);  // ten bytes of an event header
    EXPECT_TRUE(read_fails(dir, raw_log({raw_chunk(0, cut)}),
                           "event 1 (byte 20 of the chunk): it runs past the chunk's end (30 bytes)"));
    RawEvents two;
    two.add(1000, EventKind::Entropy, 0, {}).add(1000, EventKind::Entropy, 0, {});
    EXPECT_TRUE(read_fails(dir, raw_log({raw_chunk(0, two, [](ChunkHeader& c, auto&) { c.events = 1; })}),
                           "it holds 2 events; its header says 1"));
    EXPECT_TRUE(read_fails(dir, raw_log({raw_chunk(0, two, [](ChunkHeader& c, auto&) { c.last_icount = 2000; })}),
                           "its last event's instruction count is 1000; its header says 2000"));
    RawEvents bad_clock;
    bad_clock.add(1000, EventKind::Clock, 0, bytes(12, 0));
    EXPECT_TRUE(
        read_fails(dir, raw_log({raw_chunk(0, bad_clock)}), "a clock event's payload is 12 bytes; it must be 16"));
}

TEST(ReplayLogReader, RefusesADecompressionBomb) {
    TempDir dir;
    RawEvents ev;
    ev.add(1000, EventKind::Entropy, 0, bytes(100, 0));
    // A megabyte of zeroes (a few hundred bytes compressed) where the header says 116 bytes.
    const auto bomb = zstd_frame(std::vector<uint8_t>(1 << 20));
    EXPECT_TRUE(read_fails(dir,
                           raw_log({raw_chunk(0, ev,
                                              [&](ChunkHeader& c, std::vector<uint8_t>& f) {
                                                  f = bomb;
                                                  c.compressed_bytes = static_cast<uint32_t>(f.size());
                                              })}),
                           "its zstd frame holds 1048576 bytes; the header says 116"));
    // The same with a header that owns up to it: above what any chunk may hold.
    EXPECT_TRUE(read_fails(dir,
                           raw_log({raw_chunk(0, ev,
                                              [&](ChunkHeader& c, std::vector<uint8_t>& f) {
                                                  f = bomb;
                                                  c.compressed_bytes = static_cast<uint32_t>(f.size());
                                                  c.event_bytes = 1 << 20;
                                              })}),
                           "holds 1048576 bytes of events; a chunk holds 16 to 262144"));
    // A frame that does not declare its size (streamed), so the header's cannot be checked first.
    ZSTD_CCtx* cctx = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 0);
    std::vector<uint8_t> unsized(1000);
    ZSTD_outBuffer out{unsized.data(), unsized.size(), 0};
    ZSTD_inBuffer in{ev.data.data(), ev.data.size(), 0};
    ASSERT_EQ(ZSTD_compressStream2(cctx, &out, &in, ZSTD_e_end), 0u);
    ZSTD_freeCCtx(cctx);
    unsized.resize(out.pos);
    EXPECT_TRUE(read_fails(dir,
                           raw_log({raw_chunk(0, ev,
                                              [&](ChunkHeader& c, std::vector<uint8_t>& f) {
                                                  f = unsized;
                                                  c.compressed_bytes = static_cast<uint32_t>(f.size());
                                              })}),
                           "its zstd frame does not say how large it is"));
}

TEST(ReplayLogReader, RefusesDataThatIsNotOneZstdFrame) {
    TempDir dir;
    RawEvents ev;
    ev.add(1000, EventKind::Entropy, 0, bytes(100, 0));
    const auto with_frame = [&](const std::function<void(std::vector<uint8_t>&)>& f) {
        return raw_log({raw_chunk(0, ev, [&](ChunkHeader& c, std::vector<uint8_t>& frame) {
            f(frame);
            c.compressed_bytes = static_cast<uint32_t>(frame.size());
        })});
    };
    EXPECT_TRUE(read_fails(dir, with_frame([](auto& f) { f = bytes(50, 3); }), "its data is not a zstd frame"));
    EXPECT_TRUE(read_fails(dir, with_frame([](auto& f) { f = {0x28, 0xb5, 0x2f}; }), "its data is not a zstd frame"));
    EXPECT_TRUE(read_fails(dir, with_frame([](auto& f) { f.push_back(0); }), "1 bytes follow its zstd frame"));
    EXPECT_TRUE(read_fails(dir, with_frame([&](auto& f) {
                               const auto second = zstd_frame(ev.data);
                               f.insert(f.end(), second.begin(), second.end());
                           }),
                           "bytes follow its zstd frame"));
    EXPECT_TRUE(read_fails(dir, with_frame([](auto& f) { f = std::vector<uint8_t>(f.begin(), f.end() - 3); }),
                           "its zstd frame is damaged"));
    // A skippable frame (magic 0x184D2A50) is not the events' frame.
    EXPECT_TRUE(read_fails(dir, with_frame([](auto& f) { f = {0x50, 0x2a, 0x4d, 0x18, 4, 0, 0, 0, 1, 2, 3, 4}; }),
                           "its data is not a zstd frame"));
}

TEST(ReplayLogReader, RefusesANewerOrOlderMajorVersion) {
    TempDir dir;
    RawEvents ev;
    ev.add(1000, EventKind::Entropy, 0, {});
    write_bytes(dir.path("log"), raw_log({raw_chunk(0, ev)}, test_header(), {2, 0}));
    EXPECT_TRUE(fails_with(LogReader::open(dir.path("log")),
                           "replay log format version 2.0 is newer than this trapeze reads (1.0)"));
    write_bytes(dir.path("log"), raw_log({raw_chunk(0, ev)}, test_header(), {0, 9}));
    EXPECT_TRUE(fails_with(LogReader::open(dir.path("log")),
                           "replay log format version 0.9 is not one this trapeze reads (1.x)"));
}

// A later minor version's additions: a header field after the known ones, an optional kind.
std::vector<uint8_t> header_with_extra_field(LogVersion version) {
    auto h = encode_header(test_header(), version);
    h.resize(h.size() - kChecksumBytes);
    const std::vector<uint8_t> extra = bytes(8, 0x55);
    h.insert(h.end(), extra.begin(), extra.end());
    store_le<uint32_t>(h.data() + 12, load_le<uint32_t>(h.data() + 12) + 8);
    const uint64_t crc = snapshot::crc64(h);
    h.resize(h.size() + 8);
    store_le<uint64_t>(h.data() + h.size() - 8, crc);
    return h;
}

TEST(ReplayLogReader, ReadsANewerMinorVersionSkippingWhatItAdded) {
    TempDir dir;
    RawEvents ev;
    ev.add(1000, EventKind::Entropy, 0, bytes(3, 0))
        .add(1001, kOptionalKindBit | 0x0042, 7, bytes(30, 1))
        .add(1002, EventKind::ConsoleInput, 0, bytes(2, 0))
        .end(1003, 3);
    auto file = header_with_extra_field({1, 1});
    const auto chunk = raw_chunk(0, ev);
    file.insert(file.end(), chunk.begin(), chunk.end());
    write_bytes(dir.path("log"), file);
    auto r = LogReader::open(dir.path("log"));
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->version().minor, 1);
    EXPECT_EQ(r->header().machine, test_header().machine);
    const auto back = read_all(*r);
    ASSERT_FALSE(back.error) << back.error->message;
    ASSERT_EQ(back.events.size(), 2u);
    EXPECT_EQ(back.events[0].kind, EventKind::Entropy);
    EXPECT_EQ(back.events[1].kind, EventKind::ConsoleInput);
    EXPECT_TRUE(back.complete);

    // The same extra field in a header of this minor version is damage.
    file = header_with_extra_field({1, 0});
    write_bytes(dir.path("log"), file);
    EXPECT_TRUE(fails_with(LogReader::open(dir.path("log")), "8 bytes left over"));
}

TEST(ReplayLogReader, RefusesAnUnknownKindThatIsNotOptional) {
    TempDir dir;
    RawEvents ev;
    ev.add(1000, EventKind::Entropy, 0, {}).add(1001, 0x0042, 0, bytes(4, 0));
    EXPECT_TRUE(
        read_fails(dir, raw_log({raw_chunk(0, ev)}),
                   "event 1 (byte 16 of the chunk): kind 0x0042 is not one this trapeze knows (the log is format 1.0"));
    RawEvents zero;
    zero.add(1000, 0, 0, {});
    EXPECT_TRUE(read_fails(dir, raw_log({raw_chunk(0, zero)}), "kind 0x0000 is not one"));
}

TEST(ReplayLogReader, RefusesADecreasingInstructionCount) {
    TempDir dir;
    RawEvents down;
    down.add(1000, EventKind::Entropy, 0, {}).add(1500, EventKind::Entropy, 0, {}).add(1400, EventKind::Entropy, 0, {});
    EXPECT_TRUE(
        read_fails(dir, raw_log({raw_chunk(0, down, [](ChunkHeader& c, auto&) { c.last_icount = 1500; })}),
                   "chunk 0 at offset 56: event 2 (byte 32 of the chunk): its instruction count 1400 is below 1500"));
    RawEvents a, b;
    a.add(1000, EventKind::Entropy, 0, {}).add(2000, EventKind::Entropy, 0, {});
    b.add(1999, EventKind::Entropy, 0, {});
    const auto first = raw_chunk(0, a);
    EXPECT_TRUE(read_fails(
        dir, raw_log({first, raw_chunk(1, b)}),
        fmt::format("chunk 1 at offset {}: event 0 (byte 0 of the chunk): its instruction count 1999 is below 2000",
                    56 + first.size())));
    RawEvents early;
    early.add(999, EventKind::Entropy, 0, {});
    EXPECT_TRUE(read_fails(dir, raw_log({raw_chunk(0, early)}), "its instruction count 999 is below 1000"));
    // The chunk header's first count must be its first event's.
    EXPECT_TRUE(read_fails(dir, raw_log({raw_chunk(0, a, [](ChunkHeader& c, auto&) { c.first_icount = 1001; })}),
                           "its instruction count 1000 is not the chunk's first (1001)"));
}

// A chunk is checked whole before any of its events is returned.
TEST(ReplayLogReader, ReturnsNoEventOfARefusedChunk) {
    TempDir dir;
    RawEvents good, bad;
    good.add(1000, EventKind::Entropy, 0, {});
    bad.add(1001, EventKind::Entropy, 0, {}).add(1002, EventKind::Entropy, 0, {}).add(1003, 0x0042, 0, {});
    auto back = open_and_read(dir, raw_log({raw_chunk(0, good), raw_chunk(1, bad)}));
    ASSERT_TRUE(back.ok());
    ASSERT_TRUE(back->error.has_value());
    EXPECT_EQ(back->events.size(), 1u);
}

TEST(ReplayLogReader, RefusesChunksOutOfOrderAndWhatFollowsTheEnd) {
    TempDir dir;
    RawEvents a, b;
    a.add(1000, EventKind::Entropy, 0, {});
    b.add(1001, EventKind::Entropy, 0, {}).end(1002, 2);
    EXPECT_TRUE(read_fails(dir, raw_log({raw_chunk(0, a), raw_chunk(2, b)}), "it is numbered 2"));
    EXPECT_TRUE(read_fails(dir, raw_log({raw_chunk(0, a), raw_chunk(0, b)}), "it is numbered 0"));
    auto whole = raw_log({raw_chunk(0, a), raw_chunk(1, b)});
    auto back = open_and_read(dir, whole);
    ASSERT_TRUE(back.ok());
    EXPECT_FALSE(back->error);
    EXPECT_TRUE(back->complete);
    auto extra = whole;
    extra.push_back(0);
    EXPECT_TRUE(read_fails(dir, extra, fmt::format("1 bytes follow the end record, from offset {}", whole.size())));
    RawEvents c;
    c.add(1003, EventKind::Entropy, 0, {});
    EXPECT_TRUE(
        read_fails(dir, raw_log({raw_chunk(0, a), raw_chunk(1, b), raw_chunk(2, c)}), "bytes follow the end record"));
    RawEvents after;
    after.add(1000, EventKind::Entropy, 0, {}).end(1001, 1).add(1002, EventKind::Entropy, 0, {});
    EXPECT_TRUE(
        read_fails(dir, raw_log({raw_chunk(0, after)}), "event 2 (byte 56 of the chunk): it follows the end record"));
    RawEvents miscounted;
    miscounted.add(1000, EventKind::Entropy, 0, {}).end(1001, 5);
    EXPECT_TRUE(read_fails(dir, raw_log({raw_chunk(0, miscounted)}),
                           "the end record counts 5 events before it; the log holds 1"));
}

TEST(ReplayLogReader, RefusesWhatIsNotAChunk) {
    TempDir dir;
    RawEvents a;
    a.add(1000, EventKind::Entropy, 0, {});
    auto file = raw_log({raw_chunk(0, a)});
    auto edited = file;
    edited[56] = 'X';
    EXPECT_TRUE(read_fails(dir, edited, "chunk 0 at offset 56: no chunk starts here (bad magic)"));
    auto garbage = file;
    garbage.insert(garbage.end(), {'j', 'u', 'n', 'k'});  // a tail too short for a header, not a chunk's start
    EXPECT_TRUE(read_fails(dir, garbage, fmt::format("chunk 1 at offset {}: no chunk starts here", file.size())));
    EXPECT_TRUE(read_fails(dir, raw_log({raw_chunk(0, a, [](ChunkHeader& c, auto&) { c.data_crc = 1; })}),
                           "its data's checksum is"));
    edited = file;
    store_le<uint32_t>(edited.data() + 56 + 20, 1);  // reserved, with the header's checksum made right
    store_le<uint64_t>(edited.data() + 56 + 48, snapshot::crc64({edited.data() + 56, 48}));
    EXPECT_TRUE(read_fails(dir, edited, "the reserved field is 0x1, not 0"));
}

TEST(ReplayLogReader, RefusesFilesThatAreNoLog) {
    TempDir dir;
    EXPECT_TRUE(fails_with(LogReader::open(dir.path("missing")), "No such file"));
    EXPECT_TRUE(fails_with(LogReader::open(dir.root()), "is not a regular file"));
    ASSERT_EQ(::mkfifo(dir.path("fifo").c_str(), 0600), 0);
    EXPECT_TRUE(fails_with(LogReader::open(dir.path("fifo")), "is not a regular file"));  // never waits for a writer
    write_bytes(dir.path("empty"), {});
    EXPECT_TRUE(fails_with(LogReader::open(dir.path("empty")), "the file is 0 bytes, shorter than any header (44)"));
    auto snap = encode_header(test_header());
    snap[4] = 'S';
    write_bytes(dir.path("other"), snap);
    EXPECT_TRUE(fails_with(LogReader::open(dir.path("other")), "not a trapeze replay log (bad magic)"));
}

TEST(ReplayLogReader, KeepsReturningTheErrorThatStoppedIt) {
    TempDir dir;
    RawEvents a;
    a.add(1000, 0x0042, 0, {});
    write_bytes(dir.path("log"), raw_log({raw_chunk(0, a)}));
    auto r = LogReader::open(dir.path("log"));
    ASSERT_TRUE(r.ok());
    auto first = r->next();
    ASSERT_FALSE(first.ok());
    auto second = r->next();
    ASSERT_FALSE(second.ok());
    EXPECT_EQ(first.error().message, second.error().message);
    EXPECT_TRUE(fails_with(r->end_record(), "kind 0x0042"));
}

}  // namespace
}  // namespace trapeze::replay::test
