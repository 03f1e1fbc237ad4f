// The writer refuses what the reader would refuse (so a recording never produces a log its own
// replay cannot read), keeps going after a refused event, and reports a file it cannot write
// as an error that sticks, never an abort.
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>

#include "replay_test_util.hpp"

namespace trapeze::replay::test {
namespace {

Result<LogWriter> writer_in(const TempDir& dir, const WriterOptions& options = {}) {
    return LogWriter::create(dir.path("log"), test_header(), options);
}

TEST(ReplayLogWriter, RefusesAnOversizedPayloadAndGoesOn) {
    TempDir dir;
    auto w = writer_in(dir);
    ASSERT_TRUE(w.ok()) << w.error().message;
    const auto big = bytes(kMaxPayload + 1, 1);
    EXPECT_TRUE(fails_with(w->append(1000, EventKind::NetFrame, 0, big), "more than 65600"));
    EXPECT_TRUE(w->append(1000, EventKind::NetFrame, 0, bytes(kMaxPayload, 1)).ok());
    EXPECT_TRUE(w->finish({1000, 0, 0}).ok());
    auto back = open_and_read(dir, read_bytes(dir.path("log")), "copy");
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(back->events.size(), 1u);
}

TEST(ReplayLogWriter, RefusesADecreasingInstructionCount) {
    TempDir dir;
    auto w = writer_in(dir);
    ASSERT_TRUE(w.ok()) << w.error().message;
    EXPECT_TRUE(fails_with(w->append(999, EventKind::Entropy, 0, bytes(4, 0)), "below 1000"));  // before the start
    EXPECT_TRUE(w->append(5000, EventKind::Entropy, 0, bytes(4, 0)).ok());
    EXPECT_TRUE(w->append(5000, EventKind::Entropy, 0, bytes(4, 0)).ok());  // equal counts are fine
    EXPECT_TRUE(
        fails_with(w->append(4999, EventKind::ConsoleInput, 0, bytes(1, 0)), "at instruction count 4999, below 5000"));
    EXPECT_TRUE(fails_with(w->finish({4000, 0, 0}), "below 5000"));
    EXPECT_FALSE(w->finished());
    EXPECT_TRUE(w->finish({5000, 0, 0}).ok());
    EXPECT_EQ(w->events(), 2u);
}

TEST(ReplayLogWriter, RefusesPayloadsItsKindDoesNotAllow) {
    TempDir dir;
    auto w = writer_in(dir);
    ASSERT_TRUE(w.ok()) << w.error().message;
    EXPECT_TRUE(fails_with(w->append(1000, EventKind::Clock, 0, bytes(8, 0)), "must be 16"));
    EXPECT_TRUE(fails_with(w->append(1000, EventKind::OutputCheck, 0, bytes(17, 0)), "must be 16"));
    EXPECT_TRUE(fails_with(w->append(1000, EventKind::DiskChecksum, 0, {}), "must be 16"));
    EXPECT_TRUE(fails_with(w->append(1000, EventKind::DiskRead, 0, bytes(7, 0)), "shorter than its 8-byte offset"));
    EXPECT_TRUE(fails_with(w->append(1000, EventKind::Checkpoint, 0, {}), "1 to 4096"));
    EXPECT_TRUE(fails_with(w->append(1000, EventKind::Checkpoint, 0, bytes(4097, 0)), "1 to 4096"));
    EXPECT_TRUE(fails_with(w->append(1000, EventKind::End, 0, bytes(24, 0)), "written by finish()"));
    EXPECT_TRUE(fails_with(w->append(1000, static_cast<EventKind>(0), 0, {}), "not one this trapeze knows"));
    EXPECT_TRUE(fails_with(w->append(1000, static_cast<EventKind>(0x8001), 0, {}), "not one this trapeze knows"));
    EXPECT_EQ(w->events(), 0u);
}

TEST(ReplayLogWriter, TakesNothingAfterFinish) {
    TempDir dir;
    auto w = writer_in(dir);
    ASSERT_TRUE(w.ok()) << w.error().message;
    ASSERT_TRUE(w->finish({1000, 0, 0}).ok());
    EXPECT_TRUE(w->finished());
    EXPECT_TRUE(fails_with(w->append(1000, EventKind::Entropy, 0, {}), "is finished"));
    EXPECT_TRUE(fails_with(w->flush(), "is finished"));
    EXPECT_TRUE(fails_with(w->finish({1000, 0, 0}), "is finished"));
}

TEST(ReplayLogWriter, RefusesBadOptionsAndDescriptions) {
    TempDir dir;
    EXPECT_TRUE(fails_with(writer_in(dir, {.chunk_bytes = 8}), "a chunk of 8 bytes"));
    EXPECT_TRUE(fails_with(writer_in(dir, {.chunk_bytes = kMaxChunkBytes + 1}), "must be 16 to 262144"));
    EXPECT_TRUE(fails_with(writer_in(dir, {.chunk_bytes = 4096, .zstd_level = 1000}), "zstd level 1000"));
    Header h = test_header();
    h.machine.resize(kMaxDescription + 1);
    EXPECT_TRUE(fails_with(LogWriter::create(dir.path("log"), h), "more than 65536"));
    EXPECT_TRUE(fails_with(LogWriter::create(dir.path("no/such/dir/log"), test_header()), "No such file"));
}

// The file is created private: console input may hold a password.
TEST(ReplayLogWriter, CreatesTheFileForItsOwnerOnly) {
    TempDir dir;
    auto w = writer_in(dir);
    ASSERT_TRUE(w.ok()) << w.error().message;
    struct stat st {};
    ASSERT_EQ(::stat(dir.path("log").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(ReplayLogWriter, ReportsAFullFileSystem) {
    EXPECT_TRUE(fails_with(LogWriter::create("/dev/full", test_header()), "No space left on device"));
}

TEST(ReplayLogWriter, ReportsADescriptorItCannotWrite) {
    UniqueFd read_only(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    ASSERT_TRUE(read_only.valid());
    auto w = LogWriter::create(std::move(read_only), "read-only", test_header());
    EXPECT_TRUE(fails_with(w, "replay log 'read-only': the header: write: Bad file descriptor"));
    EXPECT_TRUE(fails_with(LogWriter::create(UniqueFd(), "closed", test_header()), "Bad file descriptor"));
}

// A file that stops taking data mid-recording (here RLIMIT_FSIZE, as a full disk would): the
// append that writes the chunk fails naming it, and so does every later call; the chunks before
// it stay readable. In a child process, since the limit is the process's.
TEST(ReplayLogWriter, ReportsAWriteErrorMidRecordingAndKeepsReportingIt) {
    TempDir dir;
    const std::string path = dir.path("log");
    const auto child = [&path] {
        ::signal(SIGXFSZ, SIG_IGN);
        const rlimit limit{20000, 20000};
        if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) ::_exit(2);
        auto w = LogWriter::create(path, test_header(), {.chunk_bytes = 4096});
        if (!w) ::_exit(3);
        std::optional<Error> failed;
        std::vector<uint8_t> noise(1000);
        uint64_t x = 88172645463325252ull;
        for (uint64_t i = 0; i < 100 && !failed; ++i) {
            for (auto& b : noise) {  // xorshift64: incompressible
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                b = static_cast<uint8_t>(x);
            }
            if (auto r = w->append(1000 + i, EventKind::NetFrame, 0, noise); !r) failed = r.error();
        }
        if (!failed || failed->message.find("File too large") == std::string::npos ||
            failed->message.find("chunk ") == std::string::npos)
            ::_exit(4);
        if (auto again = w->append(2000, EventKind::Entropy, 0, {}); again || again.error().message != failed->message)
            ::_exit(5);
        if (w->flush().ok() || w->finish({2000, 0, 0}).ok()) ::_exit(6);
        std::fprintf(stderr, "%s\n", failed->message.c_str());
        ::_exit(0);
    };
    EXPECT_EXIT(child(), ::testing::ExitedWithCode(0), "chunk [0-9]+ at offset [0-9]+: write: File too large");
    auto r = LogReader::open(path);
    ASSERT_TRUE(r.ok()) << r.error().message;
    const auto back = read_all(*r);
    EXPECT_FALSE(back.error) << back.error->message;  // a torn last chunk, not damage
    EXPECT_GT(back.events.size(), 0u);
    EXPECT_FALSE(back.complete);
}

}  // namespace
}  // namespace trapeze::replay::test
