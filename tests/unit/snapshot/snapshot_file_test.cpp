// The state file container: parse_snapshot() is the first thing that sees a file anyone may
// have edited, so each way a file can be wrong must be refused with a message that says what
// (not a crash, not a half-read file); well-formed files round-trip section by section.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "snapshot/snapshot_file.hpp"
#include "snapshot_test_util.hpp"

namespace trapeze::snapshot::test {
namespace {

std::vector<uint8_t> three_sections() {
    SnapshotWriter w;
    w.section("machine").string("riscv64");
    auto& hart = w.section("hart0");
    hart.u64(0x80000000);
    hart.boolean(true);
    w.section("empty");  // a section with no payload is legal
    return w.serialize();
}

// Sections come back by name with their exact bytes; the header's version is the writer's.
TEST(SnapshotFile, RoundTripOfSeveralSections) {
    const auto file = three_sections();
    auto snap = parse_snapshot(file);
    ASSERT_TRUE(snap.ok()) << snap.error().message;
    EXPECT_EQ(snap->major, kMajorVersion);
    EXPECT_EQ(snap->minor, kMinorVersion);
    EXPECT_EQ(snap->names(), (std::vector<std::string>{"empty", "hart0", "machine"}));
    EXPECT_TRUE(snap->has("hart0"));
    EXPECT_FALSE(snap->has("hart1"));

    auto machine = snap->section("machine");
    ASSERT_TRUE(machine.ok());
    EXPECT_EQ(machine->string(64), "riscv64");
    EXPECT_TRUE(machine->finish().ok());
    auto hart = snap->section("hart0");
    ASSERT_TRUE(hart.ok());
    EXPECT_EQ(hart->u64(), 0x80000000u);
    EXPECT_TRUE(hart->boolean());
    EXPECT_TRUE(hart->finish().ok());
    auto empty = snap->section("empty");
    ASSERT_TRUE(empty.ok());
    EXPECT_TRUE(empty->finish().ok());
}

// The documented layout: magic, versions, count, then the sections, then the CRC of the rest.
TEST(SnapshotFile, LayoutIsTheDocumentedOne) {
    const auto file = three_sections();
    EXPECT_EQ(std::string(file.begin(), file.begin() + 8), "TRAPSNAP");
    EXPECT_EQ(load_le<uint16_t>(file.data() + 8), kMajorVersion);
    EXPECT_EQ(load_le<uint32_t>(file.data() + 12), 3u);
    EXPECT_EQ(load_le<uint64_t>(file.data() + file.size() - 8), crc64({file.data(), file.size() - 8}));
    EXPECT_EQ(split_sections(file).size(), 3u);
}

// A missing section is an error naming it (what a restore reports for a file of another board).
TEST(SnapshotFile, MissingSectionIsNamed) {
    auto snap = parse_snapshot(three_sections());
    ASSERT_TRUE(snap.ok());
    EXPECT_TRUE(fails_with(snap->section("plic"), "has no 'plic'"));
}

// Anything that does not start with the magic (or is too short to hold header and checksum).
TEST(SnapshotFile, BadMagicIsRefused) {
    auto file = three_sections();
    file[0] = 'X';
    reseal(file);
    EXPECT_TRUE(fails_with(parse_snapshot(file), "bad magic"));
    EXPECT_TRUE(fails_with(parse_snapshot({}), "bad magic"));
    EXPECT_TRUE(fails_with(parse_snapshot(bytes_of("TRAPSNAP")), "bad magic"));
}

// A newer major version means some State's layout changed: refused, saying so.
TEST(SnapshotFile, NewerMajorVersionIsRefused) {
    auto file = three_sections();
    store_le<uint16_t>(file.data() + 8, kMajorVersion + 1);
    reseal(file);
    EXPECT_TRUE(fails_with(parse_snapshot(file), "newer"));
}

// An older (here: 0) major version is not read either.
TEST(SnapshotFile, OlderMajorVersionIsRefused) {
    auto file = three_sections();
    store_le<uint16_t>(file.data() + 8, 0);
    reseal(file);
    EXPECT_TRUE(fails_with(parse_snapshot(file), "not one this trapeze reads"));
}

// A newer minor version only adds sections: read, and the unknown section is simply there.
TEST(SnapshotFile, NewerMinorVersionIsRead) {
    auto file = three_sections();
    store_le<uint16_t>(file.data() + 10, kMinorVersion + 1);
    reseal(file);
    auto snap = parse_snapshot(file);
    ASSERT_TRUE(snap.ok()) << snap.error().message;
    EXPECT_EQ(snap->minor, kMinorVersion + 1);
}

// One changed byte anywhere before the trailer is caught by the checksum.
TEST(SnapshotFile, WrongChecksumIsRefused) {
    const auto good = three_sections();
    for (size_t i = 16; i < good.size() - 8; ++i) {
        auto file = good;
        file[i] ^= 0x20;
        ASSERT_TRUE(fails_with(parse_snapshot(file), "checksum")) << "byte " << i;
    }
    auto file = good;
    file.at(good.size() - 1) ^= 1;  // the checksum itself
    EXPECT_TRUE(fails_with(parse_snapshot(file), "checksum"));
}

// A file cut short fails the checksum; resealed (so framing is what is checked) it runs out
// of bytes inside the section table at every cut point.
TEST(SnapshotFile, TruncatedFileIsRefused) {
    const auto good = three_sections();
    for (size_t keep = 0; keep < good.size(); ++keep) {
        std::vector<uint8_t> cut(good.begin(), good.begin() + static_cast<ptrdiff_t>(keep));
        ASSERT_FALSE(parse_snapshot(cut).ok()) << "kept " << keep;
        if (keep < 24 || keep == good.size() - 8) continue;  // too short; or the whole body again
        cut.resize(keep + 8);     // a fresh trailer after the cut
        reseal(cut);
        auto r = parse_snapshot(cut);
        ASSERT_FALSE(r.ok()) << "kept " << keep;
        ASSERT_NE(r.error().message.find("the section table"), std::string::npos) << r.error().message;
    }
}

// A section length beyond the whole file is refused before anything is allocated for it.
TEST(SnapshotFile, SectionLengthPastTheEndIsRefused) {
    auto file = three_sections();
    // The first section is "machine": u16 7, "machine", then its u64 length at 16 + 2 + 7.
    ASSERT_EQ(load_le<uint16_t>(file.data() + 16), 7);
    store_le<uint64_t>(file.data() + 25, ~0ull);
    reseal(file);
    EXPECT_TRUE(fails_with(parse_snapshot(file), "longer than the file"));

    // Shorter than the file but longer than what follows: the read runs past the end.
    store_le<uint64_t>(file.data() + 25, file.size() - 30);
    reseal(file);
    EXPECT_TRUE(fails_with(parse_snapshot(file), "runs past the end"));
}

// Two sections of one name: which one a component would read is undefined, so refused.
TEST(SnapshotFile, DuplicateSectionIsRefused) {
    auto sections = split_sections(three_sections());
    sections.push_back(sections.front());
    // SnapshotWriter asserts unique names, so the duplicate is appended by hand.
    auto file = join_sections({sections.begin(), sections.end() - 1});
    file.resize(file.size() - 8);
    const auto& [name, payload] = sections.back();
    StateWriter extra;
    extra.u16(static_cast<uint16_t>(name.size()));
    extra.raw(bytes_of(name));
    extra.u64(payload.size());
    extra.raw(payload);
    file.insert(file.end(), extra.data().begin(), extra.data().end());
    store_le<uint32_t>(file.data() + 12, 4);
    file.resize(file.size() + 8);
    reseal(file);
    EXPECT_TRUE(fails_with(parse_snapshot(file), "appears twice"));
}

// The section count is bounded before the loop (a header claiming 4 billion sections is not
// 4 billion iterations of anything).
TEST(SnapshotFile, TooManySectionsAreRefused) {
    auto file = three_sections();
    store_le<uint32_t>(file.data() + 12, kMaxSections + 1);
    reseal(file);
    EXPECT_TRUE(fails_with(parse_snapshot(file), "more than 4096"));
    store_le<uint32_t>(file.data() + 12, 0xffffffff);
    reseal(file);
    EXPECT_TRUE(fails_with(parse_snapshot(file), "sections, more than"));
}

// A count below the real number of sections leaves bytes over: refused, not silently ignored.
TEST(SnapshotFile, FewerSectionsThanTheFileHoldsIsRefused) {
    auto file = three_sections();
    store_le<uint32_t>(file.data() + 12, 2);
    reseal(file);
    EXPECT_TRUE(fails_with(parse_snapshot(file), "left over"));
}

// Names are 1..64 bytes: an empty name and an overlong one are both refused.
TEST(SnapshotFile, BadNameLengthsAreRefused) {
    auto file = three_sections();
    store_le<uint16_t>(file.data() + 16, 0);
    reseal(file);
    EXPECT_TRUE(fails_with(parse_snapshot(file), "bad name length"));
    store_le<uint16_t>(file.data() + 16, kMaxSectionName + 1);
    reseal(file);
    EXPECT_TRUE(fails_with(parse_snapshot(file), "bad name length"));
}

// write_file() goes through a temporary file renamed over the target: afterwards the target
// holds exactly serialize()'s bytes and no temporary file is left beside it.
TEST(SnapshotFile, WriteFileThenReadSnapshotFile) {
    TempDir dir;
    SnapshotWriter w;
    w.section("clock").u64(12345);
    ASSERT_TRUE(w.write_file(dir.path("state")).ok());
    EXPECT_EQ(read_bytes(dir.path("state")), w.serialize());
    size_t entries = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.root())) ++entries;
    EXPECT_EQ(entries, 1u) << "a temporary file was left behind";

    auto snap = read_snapshot_file(dir.path("state"));
    ASSERT_TRUE(snap.ok()) << snap.error().message;
    auto clock = snap->section("clock");
    ASSERT_TRUE(clock.ok());
    EXPECT_EQ(clock->u64(), 12345u);
}

// Errors of read_snapshot_file name the path (the operator typed it).
TEST(SnapshotFile, ReadSnapshotFileRefusesMissingFilesAndDirectories) {
    TempDir dir;
    EXPECT_TRUE(fails_with(read_snapshot_file(dir.path("nothing")), dir.path("nothing")));
    EXPECT_TRUE(fails_with(read_snapshot_file(dir.root()), "not a regular file"));
    write_bytes(dir.path("garbage"), bytes_of("not a snapshot at all, but long enough"));
    auto r = read_snapshot_file(dir.path("garbage"));
    EXPECT_TRUE(fails_with(r, "bad magic"));
    EXPECT_TRUE(fails_with(r, dir.path("garbage")));
}

// A file above kMaxStateFileBytes is refused by its size, before it is read into memory.
TEST(SnapshotFile, ReadSnapshotFileRefusesAHugeFile) {
    TempDir dir;
    const std::string path = dir.path("huge");
    write_bytes(path, {});
    ASSERT_EQ(::truncate(path.c_str(), static_cast<off_t>(kMaxStateFileBytes + 1)), 0);  // sparse: no disk used
    EXPECT_TRUE(fails_with(read_snapshot_file(path), fmt::format("more than {}", kMaxStateFileBytes)));
}

// A FIFO given as the state file must be refused, not block the caller (the API thread) until
// some writer opens it. Run in a child with an alarm, so a hang fails the test instead of the run.
TEST(SnapshotFile, ReadSnapshotFileDoesNotBlockOnAFifo) {
    TempDir dir;
    const std::string path = dir.path("fifo");
    ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        ::alarm(5);
        auto r = read_snapshot_file(path);
        ::_exit(!r.ok() && r.error().message.find("not a regular file") != std::string::npos ? 0 : 1);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    EXPECT_FALSE(WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
        << "read_snapshot_file blocked in open(2) on a FIFO (killed by the 5 s alarm)";
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "a FIFO was not refused as 'not a regular file'";
}

// The machine header round-trips, and peek_machine_header reads it without the rest.
TEST(MachineHeader, RoundTrip) {
    SnapshotWriter w;
    auto& m = w.section("machine");
    write_machine_header(m, {"riscv64", 4, 512ull << 20});
    m.u8(0);  // what the architecture writes after it
    auto snap = parse_snapshot(w.serialize());
    ASSERT_TRUE(snap.ok());
    auto h = peek_machine_header(*snap);
    ASSERT_TRUE(h.ok()) << h.error().message;
    EXPECT_EQ(h->arch, "riscv64");
    EXPECT_EQ(h->cpus, 4u);
    EXPECT_EQ(h->ram_size, 512ull << 20);
}

// Values no machine has fail the reader: how large a memory file must be is decided from them.
TEST(MachineHeader, ImpossibleValuesFail) {
    const auto read = [](const MachineHeader& h) {
        StateWriter w;
        write_machine_header(w, h);
        StateReader r(w.data(), "machine");
        read_machine_header(r);
        return r.finish();
    };
    EXPECT_TRUE(read({"riscv64", 1, 1 << 20}).ok());
    EXPECT_TRUE(read({"x86_64", 512, 4096}).ok());
    EXPECT_TRUE(fails_with(read({"arm64", 1, 1 << 20}), "unknown architecture"));
    EXPECT_TRUE(fails_with(read({"riscv64", 0, 1 << 20}), "0 CPUs"));
    EXPECT_TRUE(fails_with(read({"riscv64", 513, 1 << 20}), "513 CPUs"));
    EXPECT_TRUE(fails_with(read({"riscv64", 1, 0}), "RAM size"));
    EXPECT_TRUE(fails_with(read({"riscv64", 1, 4097}), "RAM size"));
    EXPECT_TRUE(fails_with(read({"riscv64", 1, (1ull << 46) + 4096}), "RAM size"));
    EXPECT_FALSE(read({std::string(17, 'r'), 1, 1 << 20}).ok()) << "an architecture name above 16 bytes";
}

// A file without a machine section has no header to peek at.
TEST(MachineHeader, PeekWithoutMachineSection) {
    SnapshotWriter w;
    w.section("clock").u64(0);
    auto snap = parse_snapshot(w.serialize());
    ASSERT_TRUE(snap.ok());
    EXPECT_TRUE(fails_with(peek_machine_header(*snap), "has no 'machine'"));
}

}  // namespace
}  // namespace trapeze::snapshot::test
