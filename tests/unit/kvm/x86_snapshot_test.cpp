// X86Machine snapshots against the real /dev/kvm with the project's test guest (its progress
// computation): paused half-way, saved, the machine destroyed, a new one restored from the
// files must print the rest of what an uninterrupted run prints, byte for byte. And the
// refusals: another RAM size or vCPU count, a damaged vCPU section, a running machine.
// Skipped (with the reason) without KVM.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>

#include "guest_console.hpp"
#include "kvm/kvm_system.hpp"
#include "machine/x86_machine.hpp"
#include "snapshot/snapshot_file.hpp"

namespace trapeze {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

using Console = GuestConsole;  // guest_console.hpp

// run() on a thread of its own: it confines the calling thread with seccomp, which the test's
// own thread must not be.
class Running {
public:
    explicit Running(X86Machine& m) : m_thread([this, &m] { m_exit = m.run(); }) {}
    X86Exit join() {
        m_thread.join();
        return m_exit;
    }

private:
    X86Exit m_exit{X86ExitReason::Error, "not run"};
    std::thread m_thread;
};

class X86Snapshot : public testing::Test {
protected:
    void SetUp() override {
        if (auto sys = kvm::KvmSystem::open(); !sys.ok()) GTEST_SKIP() << sys.error().message;
        m_dir = fs::path(testing::TempDir()) / fmt::format("x86_snapshot_test.{}", ::getpid());
        fs::create_directories(m_dir);
        // Sector 1 starts with the text the guest prints when it reads the disk.
        std::string image(1024, '.');
        image.replace(512, 7, "SNAPDSK");
        std::ofstream(disk_path(), std::ios::binary) << image;
        m_config.kernel = X86GUEST_ELF;
        m_config.cmdline = "x86guest.smp x86guest.progress";
        m_config.cpus = 2;
        m_config.disks.push_back({disk_path(), true, "snapshot-test"});
    }
    void TearDown() override {
        std::error_code ignored;
        fs::remove_all(m_dir, ignored);
    }

    std::string disk_path() const { return (m_dir / "disk.img").string(); }
    std::string state_path() const { return (m_dir / "vm.state").string(); }
    std::string mem_path() const { return (m_dir / "vm.mem").string(); }

    // The guest's whole output, uninterrupted.
    // The test guest's machine, its COM1 into `console`.
    Result<std::unique_ptr<X86Machine>> create(Console& console) const {
        X86Config config = m_config;
        config.console_out = console.sink();
        return X86Machine::create(config);
    }

    std::string run_whole() {
        Console console;
        auto m = create(console);
        EXPECT_TRUE(m.ok()) << m.error().message;
        if (!m.ok()) return {};
        EXPECT_EQ(Running(**m).join().reason, X86ExitReason::PowerOff);
        return console.text();
    }

    // Runs the guest until it prints `text`, pauses it, saves it and stops it; returns what
    // it printed up to the snapshot.
    std::string save_at(const std::string& text) {
        Console console;
        auto m = create(console);
        EXPECT_TRUE(m.ok()) << m.error().message;
        if (!m.ok()) return {};
        Running running(**m);
        EXPECT_TRUE(console.wait_for(text));
        (*m)->pause();
        EXPECT_TRUE((*m)->paused());
        const std::string before = console.text();
        auto saved = (*m)->save_snapshot(state_path(), mem_path());
        EXPECT_TRUE(saved.ok()) << saved.error().message;
        (*m)->stop();
        EXPECT_EQ(running.join().reason, X86ExitReason::Stopped);
        EXPECT_EQ(console.text(), before) << "the guest ran on after pause()";
        return before;
    }

    // Restores the snapshot with `config` (the snapshot's own board if empty) and runs it to
    // the end; returns what the guest printed.
    std::string restore_and_run(std::optional<X86Config> config = {}) {
        Console console;
        if (!config) {
            auto snap = snapshot::read_snapshot_file(state_path());
            EXPECT_TRUE(snap.ok()) << snap.error().message;
            if (!snap.ok()) return {};
            auto saved = X86Machine::snapshot_config(*snap);
            EXPECT_TRUE(saved.ok()) << saved.error().message;
            if (!saved.ok()) return {};
            config = *saved;
        }
        config->console_out = console.sink();
        auto m = X86Machine::restore_snapshot(*config, state_path(), mem_path());
        EXPECT_TRUE(m.ok()) << m.error().message;
        if (!m.ok()) return {};
        const X86Exit e = Running(**m).join();
        EXPECT_EQ(e.reason, X86ExitReason::PowerOff) << e.detail;
        return console.text();
    }

    // Restoring with `config` fails; returns the message.
    std::string restore_error(const X86Config& config) {
        auto m = X86Machine::restore_snapshot(config, state_path(), mem_path());
        EXPECT_FALSE(m.ok());
        return m.ok() ? std::string() : m.error().message;
    }

    fs::path m_dir;
    X86Config m_config;
};

TEST_F(X86Snapshot, SavedHalfWayResumesInANewMachine) {
    const std::string whole = run_whole();
    ASSERT_NE(whole.find("x86guest: done"), std::string::npos) << whole;
    const std::string before = save_at("x86guest: progress 3 ");
    ASSERT_EQ(before.find("x86guest: done"), std::string::npos) << "the snapshot came after the end";
    const std::string after = restore_and_run();
    EXPECT_EQ(after.find("x86guest: hello"), std::string::npos) << "the guest started over:\n" << after;
    EXPECT_EQ(before + after, whole);
    EXPECT_NE(after.find("x86guest: blk read again used 2 status 0 data 'SNAPDSK"), std::string::npos) << after;
}

TEST_F(X86Snapshot, PausedAndResumedPrintsWhatAnUninterruptedRunDoes) {
    const std::string whole = run_whole();
    Console console;
    auto m = create(console);
    ASSERT_TRUE(m.ok()) << m.error().message;
    Running running(**m);
    ASSERT_TRUE(console.wait_for("x86guest: progress 2 "));
    for (int i = 0; i < 3; ++i) {
        (*m)->pause();
        EXPECT_TRUE((*m)->paused());
        const std::string frozen = console.text();
        std::this_thread::sleep_for(50ms);  // more than a progress step takes
        EXPECT_EQ(console.text(), frozen);
        (*m)->resume();
        EXPECT_FALSE((*m)->paused());
        std::this_thread::sleep_for(10ms);
    }
    EXPECT_EQ(running.join().reason, X86ExitReason::PowerOff);
    EXPECT_EQ(console.text(), whole);
}

// Two holders (gdb and a snapshot, say): the machine runs again only after both resumed.
TEST_F(X86Snapshot, PausesNest) {
    const std::string whole = run_whole();
    Console console;
    auto m = create(console);
    ASSERT_TRUE(m.ok()) << m.error().message;
    Running running(**m);
    ASSERT_TRUE(console.wait_for("x86guest: progress 2 "));
    (*m)->pause();
    (*m)->pause();
    (*m)->resume();
    EXPECT_TRUE((*m)->paused()) << "one pause is still held";
    const std::string frozen = console.text();
    std::this_thread::sleep_for(50ms);
    EXPECT_EQ(console.text(), frozen);
    (*m)->resume();
    EXPECT_FALSE((*m)->paused());
    (*m)->resume();  // one too many: nothing
    EXPECT_EQ(running.join().reason, X86ExitReason::PowerOff);
    EXPECT_EQ(console.text(), whole);
}

// A machine created and not run holds the PVH entry state (32-bit protected mode, paging
// off): restored, it boots from the start.
TEST_F(X86Snapshot, MachineNotYetRunRestoresToItsEntryState) {
    const std::string whole = run_whole();
    {
        auto m = X86Machine::create(m_config);
        ASSERT_TRUE(m.ok()) << m.error().message;
        auto saved = (*m)->save_snapshot(state_path(), mem_path());
        ASSERT_TRUE(saved.ok()) << saved.error().message;
    }
    EXPECT_EQ(restore_and_run(), whole);
}

TEST_F(X86Snapshot, SaveRefusesARunningMachine) {
    Console console;
    auto m = create(console);
    ASSERT_TRUE(m.ok()) << m.error().message;
    Running running(**m);
    ASSERT_TRUE(console.wait_for("x86guest: progress 1 "));
    auto saved = (*m)->save_snapshot(state_path(), mem_path());
    ASSERT_FALSE(saved.ok());
    EXPECT_NE(saved.error().message.find("pause it first"), std::string::npos) << saved.error().message;
    (*m)->stop();
    running.join();
}

TEST_F(X86Snapshot, RefusesAnotherRamSizeNamingBoth) {
    save_at("x86guest: progress 1 ");
    X86Config config = m_config;
    config.memory_mib = 128;
    const std::string error = restore_error(config);
    EXPECT_NE(error.find("256 MiB"), std::string::npos) << error;
    EXPECT_NE(error.find("128 MiB"), std::string::npos) << error;
}

TEST_F(X86Snapshot, RefusesAnotherVcpuCount) {
    save_at("x86guest: progress 1 ");
    X86Config config = m_config;
    config.cpus = 1;
    const std::string error = restore_error(config);
    EXPECT_NE(error.find("2 vCPUs, the configuration 1"), std::string::npos) << error;
}

// The state file's container (snapshot_file.hpp): magic, u16 major, u16 minor, u32 count, then
// per section u16 name length, name, u64 length, payload; a CRC-64 at the end. Rebuilt with
// `victim` cut short by `cut` bytes and a valid checksum, so only the section is wrong.
void truncate_section(const std::string& path, const std::string& victim, size_t cut) {
    std::ifstream in(path, std::ios::binary);
    const std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto get = [&file](size_t at, size_t n) {
        uint64_t v = 0;
        for (size_t i = 0; i < n; ++i) v |= uint64_t{static_cast<uint8_t>(file[at + i])} << (8 * i);
        return v;
    };
    snapshot::SnapshotWriter out;
    size_t at = 16;
    for (uint64_t s = 0, n = get(12, 4); s < n; ++s) {
        const size_t name_len = get(at, 2);
        const std::string name = file.substr(at + 2, name_len);
        const size_t len = get(at + 2 + name_len, 8);
        const auto* payload = reinterpret_cast<const uint8_t*>(file.data() + at + 10 + name_len);
        out.section(name).raw({payload, name == victim ? len - cut : len});
        at += 10 + name_len + len;
    }
    ASSERT_TRUE(out.write_file(path).ok());
}

TEST_F(X86Snapshot, RefusesATruncatedVcpuSection) {
    save_at("x86guest: progress 1 ");
    truncate_section(state_path(), "vcpu1", 5);
    const std::string error = restore_error(m_config);
    EXPECT_NE(error.find("'vcpu1'"), std::string::npos) << error;
}

}  // namespace
}  // namespace trapeze
