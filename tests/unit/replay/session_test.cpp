// Recorder and Replayer driven as the machine's run loop drives them (machine::HostInputs):
// inputs recorded at their positions come back at the same positions and nowhere else, nothing
// reaches the host during a replay, and every divergence stops the replay with a message that
// names the instruction; the machine description refuses changed files and bad options.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "arch/riscv64/board.hpp"
#include "replay/machine_description.hpp"
#include "replay/recorder.hpp"
#include "replay/replayer.hpp"
#include "snapshot_test_util.hpp"

namespace trapeze::replay::test {
namespace {

using snapshot::test::fails_with;
using snapshot::test::TempDir;
using snapshot::test::write_bytes;

std::vector<uint8_t> bytes(const std::string& s) { return {s.begin(), s.end()}; }

// A machine whose files exist: a "kernel", an initrd and one disk, recorded in `dir`.
struct Files {
    TempDir dir;
    machine::MachineConfig cfg;
    std::string log = dir.path("run.log");

    Files() {
        write_bytes(dir.path("kernel"), bytes("not really a kernel"));
        write_bytes(dir.path("initrd"), bytes("an initrd"));
        write_bytes(dir.path("disk"), std::vector<uint8_t>(8192, 0x5a));
        cfg.kernel = dir.path("kernel");
        cfg.initrd = dir.path("initrd");
        cfg.bios = std::nullopt;
        machine::DiskConfig disk;
        disk.path = dir.path("disk");
        cfg.disks.push_back(disk);
        cfg.cpus = 2;
        cfg.memory_mib = 64;
    }

    std::unique_ptr<Recorder> recorder(DiskMode mode = DiskMode::Log) {
        auto r = Recorder::create(cfg, RecordOptions{log, 0, mode});
        EXPECT_TRUE(r.ok()) << r.error().message;
        return std::move(*r);
    }
    std::unique_ptr<Replayer> replayer() {
        auto r = Replayer::open(log);
        EXPECT_TRUE(r.ok()) << r.error().message;
        return std::move(*r);
    }
};

// The host's side: a terminal that yields `typed` once, entropy counting up, a disk of 0x5a.
struct Host {
    std::string typed;
    size_t popped = 0;
    unsigned calls = 0;

    std::function<bool(uint8_t&)> terminal() {
        return [this](uint8_t& b) {
            ++calls;
            if (popped == typed.size()) return false;
            b = static_cast<uint8_t>(typed[popped++]);
            return true;
        };
    }
    std::function<size_t(std::span<uint8_t>)> entropy() {
        return [this](std::span<uint8_t> out) {
            ++calls;
            for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<uint8_t>(0x10 + i);
            return out.size();
        };
    }
    std::function<bool(uint64_t, const virtio::ByteSpans&)> disk() {
        return [this](uint64_t, const virtio::ByteSpans& data) {
            ++calls;
            for (auto s : data) std::memset(s.data(), 0x5a, s.size());
            return true;
        };
    }
};

std::string console_at_round_end(machine::HostInputs& in, Host& host) {
    std::string got;
    uint8_t b = 0;
    while (in.console_byte(b, host.terminal())) got.push_back(static_cast<char>(b));
    return got;
}

bool stops(machine::HostInputs& in, std::string& why) { return in.stop_here(why); }

// The run the tests record: console input at a round end (1000), entropy and a 6000-byte disk
// read in two spans inside a slice (2000), output, and the end at 5000.
void record_run(Files& f) {
    auto rec = f.recorder();
    Host host{"ls\n"};
    std::string why;
    rec->position(0, false);
    rec->position(1000, true);
    EXPECT_EQ(console_at_round_end(*rec, host), "ls\n");
    EXPECT_FALSE(stops(*rec, why));
    rec->position(2000, false);
    std::vector<uint8_t> random(16);
    EXPECT_EQ(rec->entropy(0, random, host.entropy()), 16u);
    std::vector<uint8_t> a(4096), b(1904);
    EXPECT_TRUE(rec->disk_read(0, 512, {a, b}, host.disk()));
    const auto out = bytes("hello from the guest\n");
    rec->output(out);
    rec->position(3000, true);
    EXPECT_FALSE(stops(*rec, why));
    rec->position(5000, true);
    EXPECT_FALSE(stops(*rec, why));
    ASSERT_TRUE(rec->finish(5000).ok());
}

// record_run() recorded, its replay opened.
class ReplayOfARun : public ::testing::Test {
protected:
    void SetUp() override {
        record_run(f);
        rep = f.replayer();
    }
    Files f;
    std::unique_ptr<Replayer> rep;
    Host host;
    std::string why;
};

// Replays record_run's first round end (the console input at 1000).
void replay_console(Replayer& rep, Host& host) {
    std::string why;
    rep.position(1000, true);
    EXPECT_EQ(console_at_round_end(rep, host), "ls\n");
    EXPECT_FALSE(stops(rep, why)) << why;
}

// ... and the entropy request of the slice at 2000.
void replay_entropy(Replayer& rep, Host& host) {
    replay_console(rep, host);
    rep.position(2000, false);
    std::vector<uint8_t> random(16);
    EXPECT_EQ(rep.entropy(0, random, host.entropy()), 16u);
}

TEST_F(ReplayOfARun, InputsComeBackAtTheirPositionsAndNothingFromTheHost) {
    EXPECT_TRUE(check_files(rep->description()).ok());
    EXPECT_EQ(rep->description().config.cpus, 2u);
    EXPECT_EQ(rep->description().config.memory_mib, 64u);
    host.typed = "typed during the replay";
    rep->position(0, false);
    rep->position(1000, true);
    EXPECT_EQ(console_at_round_end(*rep, host), "ls\n");
    EXPECT_FALSE(stops(*rep, why)) << why;
    rep->position(2000, false);
    std::vector<uint8_t> random(16);
    EXPECT_EQ(rep->entropy(0, random, host.entropy()), 16u);
    EXPECT_EQ(random[15], 0x1f);
    std::vector<uint8_t> a(4096, 0), b(1904, 0);
    EXPECT_TRUE(rep->disk_read(0, 512, {a, b}, host.disk()));
    EXPECT_EQ(a[0], 0x5a);
    EXPECT_EQ(b[1903], 0x5a);
    EXPECT_FALSE(rep->disk_writes());  // the disk's data is in the log: the file is left alone
    rep->output(bytes("hello from the guest\n"));
    rep->position(3000, true);
    EXPECT_FALSE(stops(*rep, why)) << why;
    rep->position(5000, true);
    EXPECT_TRUE(stops(*rep, why));
    EXPECT_NE(why.find("replay complete: 5000 instructions, 21 bytes of console output as recorded"), std::string::npos)
        << why;
    EXPECT_EQ(host.calls, 0u) << "a replay asked the host for an input";
}

TEST_F(ReplayOfARun, ConsoleInputWaitsForItsRoundEnd) {
    rep->position(999, true);
    EXPECT_EQ(console_at_round_end(*rep, host), "");
    rep->position(1000, false);  // the right count, inside a slice
    EXPECT_EQ(console_at_round_end(*rep, host), "");
    rep->position(1000, true);
    EXPECT_EQ(console_at_round_end(*rep, host), "ls\n");
}

TEST_F(ReplayOfARun, AnInputNotTakenWhereRecordedIsADivergenceNamingIt) {
    rep->position(1000, true);
    rep->position(1500, true);  // the console input at 1000 was never taken
    EXPECT_TRUE(stops(*rep, why));
    EXPECT_NE(why.find("replay diverged at instruction 1500"), std::string::npos) << why;
    EXPECT_NE(why.find("console input from source 0 at instruction 1000 was not taken"), std::string::npos) << why;
}

TEST_F(ReplayOfARun, AnEntropyRequestTheRecordingDoesNotHaveDiverges) {
    replay_console(*rep, host);
    rep->position(1800, false);  // asks before the recorded 2000
    std::vector<uint8_t> random(16, 0xff);
    EXPECT_EQ(rep->entropy(0, random, host.entropy()), 16u);
    EXPECT_EQ(random[0], 0) << "a request the log does not hold gets zeros, never the host's bytes";
    rep->position(1800, true);
    EXPECT_TRUE(stops(*rep, why));
    EXPECT_NE(why.find("replay diverged at instruction 1800: virtio-rng 0 asked for 16 bytes"), std::string::npos) << why;
    EXPECT_EQ(host.calls, 0u);
}

TEST_F(ReplayOfARun, ADiskReadElsewhereDiverges) {
    replay_entropy(*rep, host);
    std::vector<uint8_t> a(4096);
    EXPECT_FALSE(rep->disk_read(0, 4096, {a}, host.disk()));  // recorded at byte 512
    rep->position(2000, true);
    EXPECT_TRUE(stops(*rep, why));
    EXPECT_NE(why.find("disk 0 read at byte 4096 is not the recording's next input"), std::string::npos) << why;
}

TEST_F(ReplayOfARun, OtherConsoleOutputDivergesAtTheEnd) {
    replay_entropy(*rep, host);
    std::vector<uint8_t> a(4096), b(1904);
    EXPECT_TRUE(rep->disk_read(0, 512, {a, b}, host.disk()));
    rep->output(bytes("HELLO from the guest\n"));
    rep->position(5000, true);
    EXPECT_TRUE(stops(*rep, why));
    EXPECT_NE(why.find("replay diverged"), std::string::npos) << why;
    EXPECT_NE(why.find("21 bytes of console output"), std::string::npos) << why;
}

TEST_F(ReplayOfARun, AnEndElsewhereIsReportedWithBothCounts) {
    EXPECT_TRUE(fails_with(rep->check_end(500), "replay diverged: the guest stopped at instruction 500, before the "
                                                  "recording's input at 1000"));
}

// --replay-from N past the last checkpoint: the message says how many there are, for every N up
// to the largest (whose N + 1 had wrapped to 0: "0 checkpoints, not 0").
TEST(ReplaySession, ACheckpointPastTheLastIsRefusedSayingHowManyThereAre) {
    Files f;
    {
        auto rec = Recorder::create(f.cfg, RecordOptions{f.log, 1000, DiskMode::Log});
        ASSERT_TRUE(rec.ok()) << rec.error().message;
        (*rec)->set_checkpointer(
            [](uint64_t icount) -> Result<std::string> { return "ckpt-" + std::to_string(icount); });
        std::string why;
        for (uint64_t at = 1000; at <= 3000; at += 1000) {
            (*rec)->position(at, true);
            EXPECT_FALSE(stops(**rec, why)) << why;
        }
        ASSERT_EQ((*rec)->checkpoints(), 3u);
        ASSERT_TRUE((*rec)->finish(3000).ok());
    }
    auto third = f.replayer()->seek_checkpoint(2);
    ASSERT_TRUE(third.ok()) << third.error().message;
    EXPECT_EQ(third->name, "ckpt-3000");
    EXPECT_TRUE(fails_with(f.replayer()->seek_checkpoint(3), "no checkpoint 3: it has 3 (numbered from 0 to 2)"));
    EXPECT_TRUE(fails_with(f.replayer()->seek_checkpoint(UINT64_MAX),
                           "no checkpoint 18446744073709551615: it has 3 (numbered from 0 to 2)"));
    Files none;
    record_run(none);
    EXPECT_TRUE(
        fails_with(none.replayer()->seek_checkpoint(UINT64_MAX), "no checkpoint 18446744073709551615: it has none"));
}

TEST(ReplaySession, ACutShortRecordingStopsWhereItsLogDoes) {
    Files f;
    {
        auto rec = f.recorder();
        Host host{"x"};
        std::string why;
        rec->position(1000, true);
        (void)console_at_round_end(*rec, host);
        EXPECT_FALSE(stops(*rec, why));
        // dropped without finish(): as if the process had been killed
    }
    auto rep = f.replayer();
    Host host;
    std::string why;
    rep->position(1000, true);
    EXPECT_EQ(console_at_round_end(*rep, host), "x");
    EXPECT_TRUE(stops(*rep, why));
    EXPECT_NE(why.find("replay stopped at instruction 1000: the recording"), std::string::npos) << why;
    EXPECT_NE(why.find("has no end record"), std::string::npos) << why;
}

TEST(ReplaySession, IdleWarpsComeBackAtOnceAndCannotPassTheTimer) {
    Files f;
    {
        auto rec = f.recorder();
        std::string why;
        rec->position(1000, true);
        // The host sleeps 2 ms of the 5 ms (50000 ticks) asked: the guest's time moves by that.
        const uint64_t warp = rec->idle(50'000, [](uint64_t) { ::usleep(2000); });
        EXPECT_GE(warp, 20'000u);
        EXPECT_LE(warp, 50'000u);
        EXPECT_EQ(rec->ticks_at(1000), warp + 10);
        EXPECT_FALSE(stops(*rec, why));
        ASSERT_TRUE(rec->finish(1000).ok());
    }
    auto rep = f.replayer();
    rep->position(1000, true);
    bool slept = false;
    const uint64_t warp = rep->idle(10, [&](uint64_t) { slept = true; });  // the guest's timer is nearer now
    EXPECT_FALSE(slept);
    EXPECT_GE(warp, 20'000u);
    std::string why;
    EXPECT_TRUE(stops(*rep, why));
    EXPECT_NE(why.find("a recorded wait of"), std::string::npos) << why;
    EXPECT_NE(why.find("passes the guest's next timer"), std::string::npos) << why;
}

TEST_F(ReplayOfARun, RefusesFilesThatChangedNamingThemInTheMachineDescription) {
    write_bytes(f.dir.path("initrd"), bytes("another initrd"));
    EXPECT_TRUE(fails_with(check_files(rep->description()), "initrd '" + f.dir.path("initrd") +
                                                              "' is not the file the recording was made with"));
    write_bytes(f.dir.path("initrd"), bytes("an initrd"));
    EXPECT_TRUE(check_files(rep->description()).ok());
    write_bytes(f.dir.path("disk"), std::vector<uint8_t>(4096, 0));
    EXPECT_TRUE(fails_with(check_files(rep->description()), "is 4096 bytes; the recording's was 8192"));
}

TEST(ReplayMachineDescription, ChecksumModeChecksTheDiskContentsAndLetsTheReplayWrite) {
    Files f;
    {
        auto rec = f.recorder(DiskMode::Checksum);
        ASSERT_TRUE(rec->finish(0).ok());
    }
    auto rep = f.replayer();
    EXPECT_TRUE(rep->disk_writes());
    EXPECT_TRUE(check_files(rep->description()).ok());
    auto disk = std::vector<uint8_t>(8192, 0x5a);
    disk[100] = 0;
    write_bytes(f.dir.path("disk"), disk);
    EXPECT_TRUE(fails_with(check_files(rep->description()), "disk '" + f.dir.path("disk") +
                                                              "' is not the file the recording was made with"));
}

TEST(ReplayMachineDescription, RoundTripsAndRefusesWhatIsNotOne) {
    Files f;
    auto d = describe(f.cfg, DiskMode::Log);
    ASSERT_TRUE(d.ok()) << d.error().message;
    d->instructions_per_tick = kInstructionsPerTick;
    auto back = MachineDescription::decode(d->encode());
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(back->config.kernel, f.cfg.kernel);
    EXPECT_EQ(back->kernel_crc, d->kernel_crc);
    EXPECT_EQ(back->disk_sizes, std::vector<uint64_t>{8192});
    EXPECT_FALSE(MachineDescription::decode(bytes("{not json")).ok());
    EXPECT_FALSE(MachineDescription::decode(bytes("{}")).ok());
    d->instructions_per_tick = 0;
    EXPECT_TRUE(fails_with(MachineDescription::decode(d->encode()), "guest time rate of 0"));
    auto missing = f.cfg;
    missing.kernel = f.dir.path("no-such-kernel");
    EXPECT_TRUE(fails_with(describe(missing, DiskMode::Log), "no-such-kernel"));
}

// A recording names its files by absolute path, so that its replay finds them from any
// directory; the checksums are the files'.
TEST(ReplayMachineDescription, NamesItsFilesByAbsolutePath) {
    Files f;
    const std::string cwd = std::filesystem::current_path().string();
    std::filesystem::current_path(f.dir.path(""));
    machine::MachineConfig relative = f.cfg;
    relative.kernel = "./" + std::filesystem::path(f.cfg.kernel).filename().string();
    relative.disks[0].path = std::filesystem::path(f.cfg.disks[0].path).filename().string();
    auto d = describe(relative, DiskMode::Log);
    std::filesystem::current_path(cwd);
    ASSERT_TRUE(d.ok()) << d.error().message;
    EXPECT_EQ(d->config.kernel, std::filesystem::path(f.cfg.kernel).lexically_normal().string());
    EXPECT_EQ(d->config.disks[0].path, std::filesystem::path(f.cfg.disks[0].path).lexically_normal().string());
    EXPECT_TRUE(check_files(*d).ok()) << "checked from another directory";
}

// The seed the device tree gives the guest's kernel is a host input drawn when the recording
// starts: each recording draws its own, and its replays boot with that one.
TEST(ReplayMachineDescription, ARecordingsBootSeedComesBackInItsReplays) {
    Files f;
    std::vector<uint8_t> first;
    {
        auto rec = f.recorder();
        first.assign(rec->boot_seed().begin(), rec->boot_seed().end());
        ASSERT_TRUE(rec->finish(0).ok());
    }
    EXPECT_EQ(first.size(), arch::riscv64::kRngSeedBytes);
    EXPECT_NE(first, std::vector<uint8_t>(first.size(), 0)) << "not drawn from the host";
    auto rep = f.replayer();
    EXPECT_EQ(std::vector<uint8_t>(rep->boot_seed().begin(), rep->boot_seed().end()), first);
    EXPECT_EQ(rep->description().rng_seed, first);
    auto again = f.recorder();
    EXPECT_NE(std::vector<uint8_t>(again->boot_seed().begin(), again->boot_seed().end()), first)
        << "two recordings drew the same seed";
}

// A description without a seed (recordings made before the board had one) replays without one;
// a seed that is not hex, or longer than a device tree takes, is damage.
TEST(ReplayMachineDescription, ASeedIsOptionalAndCheckedWhenThere) {
    Files f;
    auto d = describe(f.cfg, DiskMode::Log);
    ASSERT_TRUE(d.ok()) << d.error().message;
    d->instructions_per_tick = kInstructionsPerTick;
    d->rng_seed = {0x00, 0x7f, 0x80, 0xff};
    auto back = MachineDescription::decode(d->encode());
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(back->rng_seed, d->rng_seed);

    auto edited = [&](const std::function<void(nlohmann::json&)>& edit) {
        const std::vector<uint8_t> encoded = d->encode();
        nlohmann::json j = nlohmann::json::parse(encoded.begin(), encoded.end());
        edit(j);
        return MachineDescription::decode(bytes(j.dump()));
    };
    auto old = edited([](nlohmann::json& j) { j.erase("rng_seed"); });
    ASSERT_TRUE(old.ok()) << old.error().message;
    EXPECT_TRUE(old->rng_seed.empty());
    for (const std::string& bad : std::vector<std::string>{"0", "zz", "0X7f", std::string(2 * kMaxBootSeedBytes + 2, 'a')})
        EXPECT_TRUE(fails_with(edited([&](nlohmann::json& j) { j["rng_seed"] = bad; }), "rng_seed")) << bad;
    EXPECT_TRUE(edited([](nlohmann::json& j) { j["rng_seed"] = std::string(2 * kMaxBootSeedBytes, 'a'); }).ok());
}

}  // namespace
}  // namespace trapeze::replay::test
