// The memory file: a full save is RAM byte for byte with zero pages left as holes, a diff
// holds just the dirty pages, rebase merges a diff onto its base, and a restore maps the file
// copy-on-write. Also the dirty-page log the diffs are made from.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <set>
#include <utility>
#include <vector>

#include "memory/guest_memory.hpp"
#include "snapshot/memory_file.hpp"
#include "snapshot/snapshot_files.hpp"
#include "snapshot_test_util.hpp"

namespace trapeze::snapshot::test {
namespace {

constexpr uint64_t kPage = GuestMemory::kPageSize;
constexpr uint64_t kBase = 0x80000000;
constexpr uint64_t kPages = 80;  // more than one 64-bit word of dirty bits

GuestMemory make_ram() { return GuestMemory::create(Gpa(kBase), kPages * kPage).value(); }

// Fills page p with a pattern that names it (never all zeroes).
void fill_page(GuestMemory& mem, uint64_t p, uint8_t salt = 0) {
    std::vector<uint8_t> data(kPage);
    for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(p * 7 + i + salt + 1);
    ASSERT_TRUE(mem.write(Gpa(kBase + p * kPage), data));
}

std::vector<uint8_t> ram_bytes(const GuestMemory& mem) {
    return {mem.host_base(), mem.host_base() + mem.size()};
}

// The pages holding data according to SEEK_DATA/SEEK_HOLE.
std::set<uint64_t> data_pages(const std::string& path) {
    std::set<uint64_t> pages;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    EXPECT_GE(fd, 0);
    for (off_t at = 0;;) {
        const off_t data = ::lseek(fd, at, SEEK_DATA);
        if (data < 0) break;
        const off_t hole = ::lseek(fd, data, SEEK_HOLE);
        for (off_t p = data / static_cast<off_t>(kPage); p * static_cast<off_t>(kPage) < hole; ++p)
            pages.insert(static_cast<uint64_t>(p));
        at = hole;
    }
    ::close(fd);
    return pages;
}

// Whether this filesystem reports holes at page granularity (ext4, xfs, tmpfs do); where it
// does not, the hole checks are skipped and only the contents are checked.
bool fs_reports_holes(const TempDir& dir) {
    const std::string path = dir.path("probe");
    write_bytes(path, {});
    EXPECT_EQ(::truncate(path.c_str(), static_cast<off_t>(4 * kPage)), 0);
    const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    const uint8_t one = 1;
    EXPECT_EQ(::pwrite(fd, &one, 1, static_cast<off_t>(2 * kPage)), 1);
    ::fsync(fd);
    ::close(fd);
    const bool ok = data_pages(path) == std::set<uint64_t>{2};
    std::remove(path.c_str());
    return ok;
}

uint64_t allocated_bytes(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0);
    return static_cast<uint64_t>(st.st_blocks) * 512;
}

// Full: the file is as long as RAM, equals RAM byte for byte, and only the pages with data
// take disk space (a guest that touched little of a large RAM costs little).
TEST(MemoryFile, FullSaveWritesDataPagesAndLeavesZeroPagesAsHoles) {
    TempDir dir;
    auto mem = make_ram();
    const std::set<uint64_t> written = {0, 1, 2, 17, 63, 64, 79};
    for (uint64_t p : written) fill_page(mem, p);
    // A page with one nonzero byte at its very end is data too.
    ASSERT_TRUE(mem.write(Gpa(kBase + 31 * kPage + kPage - 1), std::vector<uint8_t>{1}));

    const std::string path = dir.path("mem");
    auto stats = save_memory_full(mem, path);
    ASSERT_TRUE(stats.ok()) << stats.error().message;
    EXPECT_EQ(stats->bytes, kPages * kPage);
    EXPECT_EQ(stats->pages_written, written.size() + 1);
    EXPECT_EQ(read_bytes(path), ram_bytes(mem));

    if (!fs_reports_holes(dir)) GTEST_SKIP() << "this filesystem does not report holes";
    auto expected = written;
    expected.insert(31);
    EXPECT_EQ(data_pages(path), expected);
    EXPECT_LE(allocated_bytes(path), (expected.size() + 16) * kPage) << "zero pages took disk space";
}

// RAM of zeroes only: a file of RAM's length with no data at all.
TEST(MemoryFile, FullSaveOfZeroRamIsAllHole) {
    TempDir dir;
    auto mem = make_ram();
    auto stats = save_memory_full(mem, dir.path("mem"));
    ASSERT_TRUE(stats.ok());
    EXPECT_EQ(stats->pages_written, 0u);
    EXPECT_EQ(read_bytes(dir.path("mem")), std::vector<uint8_t>(kPages * kPage));
    if (fs_reports_holes(dir)) {
        EXPECT_TRUE(data_pages(dir.path("mem")).empty());
    }
}

// Saving over an older file replaces it whole (rename), not by writing into it: a VM mapping
// the old file copy-on-write keeps seeing the old bytes.
TEST(MemoryFile, SaveReplacesTheOldFileWithoutWritingIntoIt) {
    TempDir dir;
    const std::string path = dir.path("mem");
    write_bytes(path, std::vector<uint8_t>(kPages * kPage, 0xee));
    const int old_fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(old_fd, 0);
    auto mem = make_ram();
    fill_page(mem, 5);
    ASSERT_TRUE(save_memory_full(mem, path).ok());
    EXPECT_EQ(read_bytes(path), ram_bytes(mem));
    uint8_t b = 0;
    EXPECT_EQ(::pread(old_fd, &b, 1, 0), 1);
    EXPECT_EQ(b, 0xee) << "the old file's bytes changed under an open descriptor";
    ::close(old_fd);
    size_t entries = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.root())) ++entries;
    EXPECT_EQ(entries, 1u) << "a temporary file was left behind";
}

// A failed save (the directory does not exist) reports the path and leaves nothing behind.
TEST(MemoryFile, SaveIntoAMissingDirectoryFails) {
    TempDir dir;
    auto mem = make_ram();
    auto r = save_memory_full(mem, dir.path("no/such/dir/mem"));
    EXPECT_TRUE(fails_with(r, "no/such/dir/mem"));
}

size_t entries_in(const TempDir& dir) {
    size_t n = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.root())) ++n;
    return n;
}

SnapshotWriter small_state() {
    SnapshotWriter w;
    w.section("clock").u64(42);
    return w;
}

// Both files or neither: a state path that cannot be created fails before RAM is written, a
// memory path that cannot leaves the state file unwritten; either way the destinations keep
// their old bytes and no temporary file stays.
TEST(SnapshotFiles, ARefusedPairChangesNeitherFile) {
    TempDir dir;
    const SnapshotPaths old{dir.path("s"), dir.path("m")};
    write_bytes(old.state, {1, 2, 3});
    write_bytes(old.memory, std::vector<uint8_t>(kPages * kPage, 0xee));
    auto mem = make_ram();
    fill_page(mem, 5);
    const auto state = small_state();
    EXPECT_TRUE(fails_with(write_snapshot_files(state, mem, nullptr, {dir.path("no/dir/s"), old.memory}), "snapshot state"));
    EXPECT_TRUE(fails_with(write_snapshot_files(state, mem, nullptr, {old.state, dir.path("no/dir/m")}), "snapshot memory"));
    EXPECT_EQ(read_bytes(old.state), (std::vector<uint8_t>{1, 2, 3}));
    EXPECT_EQ(read_bytes(old.memory), std::vector<uint8_t>(kPages * kPage, 0xee));
    EXPECT_EQ(entries_in(dir), 2u) << "a temporary file was left behind";

    auto saved = write_snapshot_files(state, mem, nullptr, old);
    ASSERT_TRUE(saved.ok()) << saved.error().message;
    EXPECT_EQ(read_bytes(old.state), state.serialize());
    EXPECT_EQ(read_bytes(old.memory), ram_bytes(mem));
    EXPECT_EQ(entries_in(dir), 2u);
}

// What a machine does when a Diff fails: the bits it took go back, so the next Diff has them.
TEST(SnapshotFiles, ReturnedDirtyBitsReachTheNextDiff) {
    TempDir dir;
    auto mem = make_ram();
    (void)mem.take_dirty();
    fill_page(mem, 3);
    fill_page(mem, 70);
    const auto taken = mem.take_dirty();
    ASSERT_FALSE(write_snapshot_files(small_state(), mem, taken.data(), {dir.path("s"), dir.path("no/m")}).ok());
    mem.return_dirty(taken);
    fill_page(mem, 4);
    const auto next = mem.take_dirty();
    for (const uint64_t p : {uint64_t{3}, uint64_t{4}, uint64_t{70}}) EXPECT_TRUE(next[p / 64] >> (p % 64) & 1) << "page " << p;
    EXPECT_FALSE(next[0] >> 5 & 1);
}

// Diff: only the pages written since take_dirty(), at their offsets; everything else a hole,
// even pages that hold data in RAM (the base file has those).
TEST(MemoryFile, DiffSaveWritesOnlyDirtyPages) {
    TempDir dir;
    auto mem = make_ram();
    for (const uint64_t p : std::initializer_list<uint64_t>{0, 1, 2, 70}) fill_page(mem, p);
    (void)mem.take_dirty();  // the base snapshot
    fill_page(mem, 3);
    fill_page(mem, 70, 9);
    auto s = mem.span(Gpa(kBase + 66 * kPage), 8);
    std::memset(s.data(), 0x5a, s.size());
    mem.notify_written(Gpa(kBase + 66 * kPage), 8);  // a DMA write through a span

    const auto dirty = mem.take_dirty();
    const std::string path = dir.path("diff");
    auto stats = save_memory_diff(mem, dirty, path);
    ASSERT_TRUE(stats.ok()) << stats.error().message;
    EXPECT_EQ(stats->pages_written, 3u);
    EXPECT_EQ(stats->bytes, kPages * kPage);

    const auto file = read_bytes(path);
    const auto ram = ram_bytes(mem);
    ASSERT_EQ(file.size(), ram.size());
    for (uint64_t p = 0; p < kPages; ++p) {
        const bool in_diff = p == 3 || p == 66 || p == 70;
        const auto at = static_cast<ptrdiff_t>(p * kPage);
        const std::vector<uint8_t> got(file.begin() + at, file.begin() + at + static_cast<ptrdiff_t>(kPage));
        const std::vector<uint8_t> want =
            in_diff ? std::vector<uint8_t>(ram.begin() + at, ram.begin() + at + static_cast<ptrdiff_t>(kPage))
                    : std::vector<uint8_t>(kPage);
        ASSERT_EQ(got, want) << "page " << p;
    }
    if (fs_reports_holes(dir)) {
        EXPECT_EQ(data_pages(path), (std::set<uint64_t>{3, 66, 70}));
    }
}

// A dirty page that is now all zeroes is still written (as data): merged onto a base where
// the page held something, it must clear it.
TEST(MemoryFile, DiffWritesAZeroedDirtyPage) {
    TempDir dir;
    auto mem = make_ram();
    fill_page(mem, 4);
    (void)mem.take_dirty();
    ASSERT_TRUE(mem.write(Gpa(kBase + 4 * kPage), std::vector<uint8_t>(kPage, 0)));
    auto stats = save_memory_diff(mem, mem.take_dirty(), dir.path("diff"));
    ASSERT_TRUE(stats.ok());
    EXPECT_EQ(stats->pages_written, 1u);
}

// A bitmap that does not cover RAM is the caller's mistake, reported instead of read past.
TEST(MemoryFile, DiffRefusesAShortBitmap) {
    TempDir dir;
    auto mem = make_ram();
    const std::vector<uint64_t> one_word(1, ~0ull);  // 64 pages of 80
    EXPECT_TRUE(fails_with(save_memory_diff(mem, one_word, dir.path("diff")), "shorter than RAM"));
}

// Full, then two diffs merged onto it in order (Firecracker's rebase-snap): the base file then
// equals RAM at the last snapshot, page for page, including a page zeroed after the base.
TEST(MemoryFile, RebaseMergesDiffsOntoTheBase) {
    TempDir dir;
    auto mem = make_ram();
    for (const uint64_t p : std::initializer_list<uint64_t>{0, 8, 9, 40, 77}) fill_page(mem, p);
    ASSERT_TRUE(save_memory_full(mem, dir.path("base")).ok());
    (void)mem.take_dirty();

    fill_page(mem, 8, 1);
    fill_page(mem, 50);
    ASSERT_TRUE(mem.write(Gpa(kBase + 40 * kPage), std::vector<uint8_t>(kPage, 0)));  // zeroed
    ASSERT_TRUE(save_memory_diff(mem, mem.take_dirty(), dir.path("diff1")).ok());
    const auto after_diff1 = ram_bytes(mem);

    fill_page(mem, 79, 3);
    ASSERT_TRUE(mem.write(Gpa(kBase + 9 * kPage + 100), std::vector<uint8_t>{0, 0, 0}));
    ASSERT_TRUE(save_memory_diff(mem, mem.take_dirty(), dir.path("diff2")).ok());

    auto copied = rebase_memory_file(dir.path("base"), dir.path("diff1"));
    ASSERT_TRUE(copied.ok()) << copied.error().message;
    if (fs_reports_holes(dir)) {
        EXPECT_EQ(*copied, 3 * kPage);
    }
    EXPECT_EQ(read_bytes(dir.path("base")), after_diff1);

    ASSERT_TRUE(rebase_memory_file(dir.path("base"), dir.path("diff2")).ok());
    EXPECT_EQ(read_bytes(dir.path("base")), ram_bytes(mem));
}

// Files of different lengths are not the same VM's RAM; non-regular files are refused.
TEST(MemoryFile, RebaseRefusesMismatchedFiles) {
    TempDir dir;
    write_bytes(dir.path("base"), std::vector<uint8_t>(2 * kPage));
    write_bytes(dir.path("diff"), std::vector<uint8_t>(3 * kPage));
    EXPECT_TRUE(fails_with(rebase_memory_file(dir.path("base"), dir.path("diff")), "not the same VM"));
    EXPECT_TRUE(fails_with(rebase_memory_file(dir.path("base"), dir.root()), "regular"));
    EXPECT_TRUE(fails_with(rebase_memory_file(dir.path("base"), dir.path("none")), dir.path("none")));
    EXPECT_EQ(read_bytes(dir.path("base")), std::vector<uint8_t>(2 * kPage)) << "a refused rebase wrote the base";
}

// The diff named as its own base (the same path, a hard link, a symbolic link) is a mistake in
// the command line, not a merge: refused, by the files' identity rather than their names.
TEST(MemoryFile, RebaseRefusesTheSameFileAsBaseAndDiff) {
    TempDir dir;
    std::vector<uint8_t> pages(2 * kPage, 0);
    pages[kPage] = 0x5a;
    write_bytes(dir.path("base"), pages);
    ASSERT_EQ(::link(dir.path("base").c_str(), dir.path("hard").c_str()), 0);
    ASSERT_EQ(::symlink(dir.path("base").c_str(), dir.path("soft").c_str()), 0);
    for (const char* diff : {"base", "hard", "soft"})
        EXPECT_TRUE(fails_with(rebase_memory_file(dir.path("base"), dir.path(diff)), "are the same file")) << diff;
    EXPECT_EQ(read_bytes(dir.path("base")), pages);
}

// open_memory_file: a regular file of exactly the snapshot's RAM size, or an error saying
// which it is not.
TEST(MemoryFile, OpenMemoryFileChecksSizeAndType) {
    TempDir dir;
    write_bytes(dir.path("mem"), std::vector<uint8_t>(4 * kPage, 1));
    EXPECT_TRUE(open_memory_file(dir.path("mem"), 4 * kPage).ok());
    EXPECT_TRUE(fails_with(open_memory_file(dir.path("mem"), 8 * kPage), "16384 bytes, but the snapshot's RAM is 32768"));
    EXPECT_TRUE(fails_with(open_memory_file(dir.path("mem"), 2 * kPage), "16384 bytes"));
    EXPECT_TRUE(fails_with(open_memory_file(dir.root(), 4 * kPage), "not a regular file"));
    EXPECT_TRUE(fails_with(open_memory_file(dir.path("none"), 4 * kPage), dir.path("none")));
}

// A FIFO is refused at once (the open does not wait for a writer).
TEST(MemoryFile, OpenMemoryFileRefusesAFifoWithoutBlocking) {
    TempDir dir;
    ASSERT_EQ(::mkfifo(dir.path("fifo").c_str(), 0600), 0);
    const auto start = std::chrono::steady_clock::now();
    EXPECT_TRUE(fails_with(open_memory_file(dir.path("fifo"), 4 * kPage), "not a regular file"));
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

// create_from_file: the guest sees the file's bytes; the guest's writes stay in its private
// copy, never reaching the file (a snapshot can be restored any number of times).
TEST(MemoryFile, CreateFromFileMapsCopyOnWrite) {
    TempDir dir;
    auto mem = make_ram();
    fill_page(mem, 2);
    fill_page(mem, 79);
    ASSERT_TRUE(save_memory_full(mem, dir.path("mem")).ok());
    const auto saved = read_bytes(dir.path("mem"));

    auto fd = open_memory_file(dir.path("mem"), mem.size());
    ASSERT_TRUE(fd.ok());
    auto restored = GuestMemory::create_from_file(Gpa(kBase), mem.size(), fd->get());
    ASSERT_TRUE(restored.ok()) << restored.error().message;
    EXPECT_EQ(ram_bytes(*restored), ram_bytes(mem));

    ASSERT_TRUE(restored->write(Gpa(kBase + 2 * kPage), std::vector<uint8_t>(kPage, 0xcc)));
    ASSERT_TRUE(restored->write(Gpa(kBase + 10 * kPage), std::vector<uint8_t>(16, 0xdd)));  // a hole page
    auto s = restored->span(Gpa(kBase + 79 * kPage), 8);
    std::memset(s.data(), 0xbb, 8);  // a hart's store through a host pointer
    EXPECT_EQ(read_bytes(dir.path("mem")), saved) << "a guest write reached the memory file";

    // A second restore of the same file starts from the saved bytes again.
    auto again = GuestMemory::create_from_file(Gpa(kBase), mem.size(), fd->get());
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(ram_bytes(*again), saved);
    // A restored RAM starts with a clean dirty log: its first diff holds only what changes after.
    EXPECT_EQ(again->take_dirty(), std::vector<uint64_t>(2, 0));
}

// create_from_file refuses sizes create() refuses.
TEST(MemoryFile, CreateFromFileRefusesBadSizes) {
    TempDir dir;
    write_bytes(dir.path("mem"), std::vector<uint8_t>(kPage));
    auto fd = open_memory_file(dir.path("mem"), kPage);
    ASSERT_TRUE(fd.ok());
    EXPECT_FALSE(GuestMemory::create_from_file(Gpa(kBase), 0, fd->get()).ok());
    EXPECT_FALSE(GuestMemory::create_from_file(Gpa(kBase), kPage + 1, fd->get()).ok());
    EXPECT_FALSE(GuestMemory::create_from_file(Gpa(~0ull - kPage + 2), kPage, fd->get()).ok()) << "wraps";
}

// The dirty log: bit p of word p/64 for page p, set by write(), notify_written() and
// mark_dirty() (ranges across pages mark every page they touch), cleared by take_dirty().
TEST(DirtyLog, MarksAndTakes) {
    auto mem = make_ram();
    EXPECT_EQ(mem.take_dirty(), std::vector<uint64_t>(2, 0)) << "a new RAM has no dirty page";

    ASSERT_TRUE(mem.write(Gpa(kBase + 5 * kPage + 10), std::vector<uint8_t>{1}));
    mem.notify_written(Gpa(kBase + 64 * kPage - 1), 2);  // pages 63 and 64: across the word boundary
    mem.mark_dirty(Gpa(kBase + 79 * kPage), kPage);      // the last page
    mem.notify_written(Gpa(kBase + 20 * kPage), 0);      // nothing written: nothing marked
    auto dirty = mem.take_dirty();
    ASSERT_EQ(dirty.size(), 2u);
    EXPECT_EQ(dirty[0], (1ull << 5) | (1ull << 63));
    EXPECT_EQ(dirty[1], (1ull << 0) | (1ull << 15));
    EXPECT_EQ(mem.take_dirty(), std::vector<uint64_t>(2, 0)) << "take_dirty clears";
}

// Marks outside RAM are ignored (and a range running past the end marks up to the last page).
TEST(DirtyLog, OutsideRamIsIgnored) {
    auto mem = make_ram();
    mem.mark_dirty(Gpa(kBase - kPage), 8);
    mem.mark_dirty(Gpa(kBase + kPages * kPage), 8);
    EXPECT_EQ(mem.take_dirty(), std::vector<uint64_t>(2, 0));
    mem.mark_dirty(Gpa(kBase + (kPages - 1) * kPage), 3 * kPage);
    EXPECT_EQ(mem.take_dirty(), (std::vector<uint64_t>{0, 1ull << 15}));
}

// A failed (out-of-bounds) write() copies nothing and marks nothing.
TEST(DirtyLog, RefusedWriteMarksNothing) {
    auto mem = make_ram();
    EXPECT_FALSE(mem.write(Gpa(kBase + kPages * kPage - 4), std::vector<uint8_t>(8, 1)));
    EXPECT_EQ(mem.take_dirty(), std::vector<uint64_t>(2, 0));
}

}  // namespace
}  // namespace trapeze::snapshot::test
