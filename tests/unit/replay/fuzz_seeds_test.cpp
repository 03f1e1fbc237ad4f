// The replay log fuzzer's seeds (tests/fuzz/corpus/replay_log_fuzzer, input format in
// tests/fuzz/replay_log_input.hpp): each must still open and read without error, or the fuzzer
// would start from inputs refused at the first check and never reach the chunks and events.
//
// They are logs written by LogWriter and chunks of raw events built here. To write them afresh
// (after the format changes), run this from the source directory and commit the result:
//   TRAPEZE_WRITE_REPLAY_SEEDS=tests/fuzz/corpus/replay_log_fuzzer
//       build/tests/unit/replay/replay_test --gtest_filter='ReplayFuzzSeeds.*'
// (one command line). zstd's output differs between its versions, so the seeds are checked by
// reading them, not compared with what this test would write.
#include <cstdlib>
#include <filesystem>

#include "replay_log_input.hpp"
#include "replay_test_util.hpp"

#ifndef TRAPEZE_SOURCE_DIR
#error "TRAPEZE_SOURCE_DIR must name the source tree (tests/unit/replay/CMakeLists.txt)"
#endif

namespace trapeze::replay::test {
namespace {

using fuzz::kCompress;
using fuzz::kReseal;

std::string seed_dir() {
    return std::string(TRAPEZE_SOURCE_DIR) + "/tests/fuzz/corpus/replay_log_fuzzer";
}

std::vector<uint8_t> with_flags(uint8_t flags, const std::vector<uint8_t>& file) {
    std::vector<uint8_t> out{flags};
    out.insert(out.end(), file.begin(), file.end());
    return out;
}

// One event of every kind in chunks of at most `chunk_bytes`, finished or not.
std::vector<uint8_t> every_kind(const TempDir& dir, size_t chunk_bytes, bool finish) {
    {
        auto w = LogWriter::create(dir.path("seed"), test_header(), {.chunk_bytes = chunk_bytes});
        EXPECT_TRUE(w.ok());
        const auto append = [&](uint64_t icount, EventKind kind, uint16_t source, std::span<const uint8_t> p) {
            EXPECT_TRUE(w->append(icount, kind, source, p).ok());
        };
        append(1000, EventKind::ConsoleInput, 0, bytes(5, 'a'));
        append(1010, EventKind::NetFrame, 1, bytes(60, 0));
        std::vector<uint8_t> read = bytes(8 + 64, 1);
        store_le<uint64_t>(read.data(), 512);
        append(1020, EventKind::DiskRead, 2, read);
        append(1020, EventKind::DiskChecksum, 3, DiskChecksum{1 << 20, 0x1234}.encode());
        append(1030, EventKind::Entropy, 4, bytes(16, 7));
        append(1040, EventKind::Clock, 0, ClockReading{1'700'000'000, 0}.encode());
        append(1050, EventKind::Checkpoint, 0, bytes(12, 'c'));
        append(1060, EventKind::OutputCheck, 0, OutputCheck{0xabcdef, 42}.encode());
        if (finish) {
            EXPECT_TRUE(w->finish({1070, 0xabcdef, 42}).ok());
        }
    }  // an unfinished writer writes what it buffered
    return read_bytes(dir.path("seed"));
}

// The kCompress form of a chunk: its header, then the events uncompressed (C = their length).
std::vector<uint8_t> uncompressed_chunk(uint32_t index, const RawEvents& ev) {
    std::vector<uint8_t> out(kChunkHeaderBytes);
    const auto size = static_cast<uint32_t>(ev.data.size());
    encode_chunk_header({index, ev.count, size, size, ev.first, ev.last, 0},
                        std::span<uint8_t, kChunkHeaderBytes>(out.data(), kChunkHeaderBytes));
    out.insert(out.end(), ev.data.begin(), ev.data.end());
    return out;
}

struct Seed {
    std::string name;
    std::vector<uint8_t> input;
};

std::vector<Seed> make_seeds(const TempDir& dir) {
    std::vector<Seed> seeds;
    const auto whole = every_kind(dir, 256, true);
    seeds.push_back({"whole-every-kind", with_flags(0, whole)});
    seeds.push_back({"whole-small-chunks-resealed", with_flags(kReseal, every_kind(dir, 48, true))});
    const auto cut = every_kind(dir, 48, false);
    seeds.push_back({"killed-writer", with_flags(0, std::vector<uint8_t>(cut.begin(), cut.end() - 20))});

    RawEvents a, b;
    a.add(1000, EventKind::ConsoleInput, 0, bytes(3, 'x')).add(1000, EventKind::Entropy, 1, bytes(8, 2));
    b.add(1005, EventKind::Clock, 0, bytes(16, 0)).add(1005, EventKind::OutputCheck, 0, bytes(16, 9)).end(1010, 4);
    auto raw = encode_header(test_header());
    for (const auto& c : {uncompressed_chunk(0, a), uncompressed_chunk(1, b)})
        raw.insert(raw.end(), c.begin(), c.end());
    seeds.push_back({"whole-raw-events", with_flags(kCompress, raw)});

    // A later minor version: an extra header field and an optional kind.
    auto newer = encode_header(test_header(), {kMajorVersion, kMinorVersion + 1});
    newer.resize(newer.size() - kChecksumBytes);
    newer.insert(newer.end(), 8, 0x55);
    store_le<uint32_t>(newer.data() + 12, load_le<uint32_t>(newer.data() + 12) + 8);
    newer.insert(newer.end(), 8, 0);  // the checksum, resealed by the harness
    RawEvents c;
    c.add(2000, kOptionalKindBit | 0x0042, 3, bytes(10, 4))
        .add(2001, EventKind::NetFrame, 1, bytes(30, 5))
        .end(2002, 2);
    const auto chunk = uncompressed_chunk(0, c);
    newer.insert(newer.end(), chunk.begin(), chunk.end());
    seeds.push_back({"whole-newer-minor-optional-kind", with_flags(kCompress, newer)});
    return seeds;
}

TEST(ReplayFuzzSeeds, WritesTheSeedsWhenAsked) {
    const char* out = std::getenv("TRAPEZE_WRITE_REPLAY_SEEDS");
    if (out == nullptr) GTEST_SKIP() << "set TRAPEZE_WRITE_REPLAY_SEEDS=DIR to write the seeds";
    TempDir dir;
    std::filesystem::create_directories(out);
    for (const auto& s : make_seeds(dir)) write_bytes(std::string(out) + "/" + s.name, s.input);
}

// What the fuzzer starts from: each seed opens and reads without error, whole where its name
// says so and unfinished otherwise.
TEST(ReplayFuzzSeeds, EverySeedReadsAsItsNameSays) {
    TempDir dir;
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(seed_dir())) names.push_back(entry.path().string());
    ASSERT_GE(names.size(), 5u) << seed_dir();
    for (const auto& path : names) {
        SCOPED_TRACE(path);
        auto back = open_and_read(dir, fuzz::replay_log_file(read_bytes(path)));
        ASSERT_TRUE(back.ok()) << back.error().message;
        EXPECT_FALSE(back->error) << back->error->message;
        EXPECT_GE(back->events.size(), 1u);
        EXPECT_EQ(back->complete, std::filesystem::path(path).filename().string().rfind("whole-", 0) == 0);
    }
}

// The seeds this test writes read as they should, whatever zstd version wrote them.
TEST(ReplayFuzzSeeds, FreshSeedsReadAsTheirNamesSay) {
    TempDir dir;
    for (const auto& s : make_seeds(dir)) {
        SCOPED_TRACE(s.name);
        auto back = open_and_read(dir, fuzz::replay_log_file(s.input));
        ASSERT_TRUE(back.ok()) << back.error().message;
        EXPECT_FALSE(back->error) << back->error->message;
        EXPECT_EQ(back->complete, s.name.rfind("whole-", 0) == 0);
    }
}

}  // namespace
}  // namespace trapeze::replay::test
