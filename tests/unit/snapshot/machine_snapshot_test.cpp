// RiscvMachine snapshots end to end on a tiny bare-metal machine: a snapshot restores into a
// machine that saves the very same state again and goes on counting (under either engine),
// and RiscvMachine::restore refuses, as a Result error naming what differs, a configuration of
// another board and a state file with any section missing or damaged.
#include <gtest/gtest.h>
#include <libfdt.h>

#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "machine_fixture.hpp"
#include "rv64/hart_state.hpp"

namespace trapeze::snapshot::test {
namespace {

using machine::ConsoleKind;
using machine::Engine;

class MachineSnapshot : public ::testing::Test {
protected:
    void SetUp() override {
        kernel = dir.path("count.elf");
        write_bytes(kernel, elf_of(counting_program()));
    }

    // A machine of `cfg`, run until its harts count, paused and saved to state/mem under `tag`.
    machine::SnapshotTarget take(const MachineConfig& cfg, const std::string& tag = "snap") {
        machine::SnapshotTarget t{dir.path(tag + ".state"), dir.path(tag + ".mem")};
        machine::HostConsole& console = fresh_console();
        auto m = RiscvMachine::create(cfg, console);
        EXPECT_TRUE(m.ok()) << m.error().message;
        if (!m.ok()) return t;
        Runner runner(**m, console);
        save_while_running(**m, cfg.cpus, t);
        runner.stop();
        return t;
    }

    // RiscvMachine::restore of the files at `t` (state possibly edited) into `cfg`.
    Result<std::unique_ptr<RiscvMachine>> restore(const MachineConfig& cfg, const std::vector<uint8_t>& state,
                                                  const std::string& memory_path, machine::HostConsole& console) {
        TRAPEZE_TRY_ASSIGN(snap, parse_snapshot(state));
        TRAPEZE_TRY_ASSIGN(header, peek_machine_header(snap));
        TRAPEZE_TRY_ASSIGN(fd, open_memory_file(memory_path, header.ram_size));
        return RiscvMachine::restore(cfg, console, snap, fd.get());
    }
    Result<std::unique_ptr<RiscvMachine>> restore(const MachineConfig& cfg, const machine::SnapshotTarget& t) {
        return restore(cfg, read_bytes(t.state_path), t.memory_path, fresh_console());
    }
    // The same with one section's payload replaced (or removed when `payload` is null).
    Result<std::unique_ptr<RiscvMachine>> restore_edited(const MachineConfig& cfg, const machine::SnapshotTarget& t,
                                                         const std::string& section,
                                                         const std::vector<uint8_t>* payload) {
        Sections sections = split_sections(read_bytes(t.state_path));
        Sections edited;
        for (auto& [name, bytes] : sections) {
            if (name != section) edited.emplace_back(name, bytes);
            else if (payload != nullptr) edited.emplace_back(name, *payload);
        }
        return restore(cfg, join_sections(edited), t.memory_path, fresh_console());
    }

    // A console per machine: a Runner's stop() leaves its console asking every later run() to quit.
    // The consoles outlive the machines (locals of the test body).
    machine::HostConsole& fresh_console() { return consoles.emplace_back(std::make_unique<NullConsole>())->console; }

    TempDir dir;
    std::string kernel;
    std::vector<std::unique_ptr<NullConsole>> consoles;
};

// The sections the header comment of riscv_snapshot.cpp lists, one per hart and virtio slot.
// Harts with the hypervisor extension (the default) add its state as "hartN.h".
TEST_F(MachineSnapshot, StateFileHasTheDocumentedSections) {
    auto without_h = tiny_config(kernel, Engine::Interp, 2);
    without_h.hypervisor = false;
    const std::set<std::string> board{"machine", "clock", "boot", "hart0", "hart1", "clint", "plic", "uart", "rtc",
                                      "virtio0"};
    auto plain = read_snapshot_file(take(without_h).state_path);
    ASSERT_TRUE(plain.ok()) << plain.error().message;
    const auto plain_names = plain->names();
    EXPECT_EQ(std::set<std::string>(plain_names.begin(), plain_names.end()), board);

    const auto t = take(tiny_config(kernel, Engine::Interp, 2));
    auto snap = read_snapshot_file(t.state_path);
    ASSERT_TRUE(snap.ok()) << snap.error().message;
    const auto names = snap->names();
    std::set<std::string> with_h = board;
    with_h.insert({"hart0.h", "hart1.h"});
    EXPECT_EQ(std::set<std::string>(names.begin(), names.end()), with_h);
    auto header = peek_machine_header(*snap);
    ASSERT_TRUE(header.ok());
    EXPECT_EQ(header->arch, "riscv64");
    EXPECT_EQ(header->cpus, 2u);
    EXPECT_EQ(header->ram_size, kMachineMib << 20);
    struct stat st {};
    ASSERT_EQ(::stat(t.memory_path.c_str(), &st), 0);
    EXPECT_EQ(static_cast<uint64_t>(st.st_size), kMachineMib << 20);
}

// snapshot_config() rebuilds the board from the machine section alone (restore without a config).
TEST_F(MachineSnapshot, SnapshotConfigDescribesTheBoard) {
    auto cfg = tiny_config(kernel, Engine::Interp, 2);
    cfg.console = ConsoleKind::Virtio;
    const auto t = take(cfg);
    auto snap = read_snapshot_file(t.state_path);
    ASSERT_TRUE(snap.ok());
    auto back = RiscvMachine::snapshot_config(*snap);
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(back->cpus, 2u);
    EXPECT_EQ(back->memory_mib, kMachineMib);
    EXPECT_TRUE(back->rng);
    EXPECT_EQ(back->console, ConsoleKind::Virtio);
    EXPECT_TRUE(back->disks.empty());
    EXPECT_TRUE(back->nets.empty());
}

// A disk changed while the VM runs (PATCH /drives path_on_host) is the one a snapshot records,
// so a restore opens the image the guest was using, not the one it booted with.
TEST_F(MachineSnapshot, SnapshotRecordsADiskReplacedWhileRunning) {
    auto cfg = tiny_config(kernel);
    const std::string first = dir.path("first.img"), second = dir.path("second.img");
    write_bytes(first, std::vector<uint8_t>(4096, 1));
    write_bytes(second, std::vector<uint8_t>(8192, 2));
    machine::DiskConfig disk;
    disk.path = first;
    disk.id = "d";
    cfg.disks.push_back(disk);
    machine::HostConsole& console = fresh_console();
    auto m = RiscvMachine::create(cfg, console);
    ASSERT_TRUE(m.ok()) << m.error().message;
    ASSERT_TRUE((*m)->update_disk(0, second, std::nullopt).ok());
    const machine::SnapshotTarget t{dir.path("disk.state"), dir.path("disk.mem")};
    Runner runner(**m, console);
    save_while_running(**m, cfg.cpus, t);
    runner.stop();
    auto snap = read_snapshot_file(t.state_path);
    ASSERT_TRUE(snap.ok());
    auto back = RiscvMachine::snapshot_config(*snap);
    ASSERT_TRUE(back.ok()) << back.error().message;
    ASSERT_EQ(back->disks.size(), 1u);
    EXPECT_EQ(back->disks[0].path, second);
}

// The device tree a machine boots with (found in its RAM by its header), its /chosen/rng-seed.
std::vector<uint8_t> rng_seed_in(const std::string& memory_path) {
    const std::vector<uint8_t> mem = read_bytes(memory_path);
    for (size_t off = 0; off + sizeof(fdt_header) <= mem.size(); off += 8) {
        const void* blob = mem.data() + off;
        if (fdt_magic(blob) != FDT_MAGIC || fdt_check_header(blob) != 0) continue;
        if (off + fdt_totalsize(blob) > mem.size()) continue;
        int len = 0;
        const auto* p = static_cast<const uint8_t*>(fdt_getprop(blob, fdt_path_offset(blob, "/chosen"), "rng-seed", &len));
        return p == nullptr ? std::vector<uint8_t>{} : std::vector<uint8_t>(p, p + len);
    }
    ADD_FAILURE() << "no device tree in " << memory_path;
    return {};
}

// Every boot gives the guest's kernel random bytes of its own in /chosen/rng-seed (as QEMU's
// virt board does), so its random numbers are seeded before anything else runs.
TEST_F(MachineSnapshot, EveryBootGivesTheKernelASeedOfItsOwn) {
    const auto a = take(tiny_config(kernel), "seed-a");
    const auto b = take(tiny_config(kernel), "seed-b");
    const std::vector<uint8_t> seed_a = rng_seed_in(a.memory_path), seed_b = rng_seed_in(b.memory_path);
    EXPECT_EQ(seed_a.size(), arch::riscv64::kRngSeedBytes);
    EXPECT_NE(seed_a, std::vector<uint8_t>(seed_a.size(), 0));
    EXPECT_EQ(seed_b.size(), arch::riscv64::kRngSeedBytes);
    EXPECT_NE(seed_a, seed_b) << "two boots drew the same seed";
}

// save(restore(S)) == S: every section but the running clock comes back byte for byte, the
// memory file too, under the engine that saved it and under the other one (engines keep no
// state of their own). One and two harts.
TEST_F(MachineSnapshot, RestoredMachineSavesTheSameState) {
    for (const unsigned cpus : {1u, 2u}) {
        const auto t = take(tiny_config(kernel, Engine::Interp, cpus), fmt::format("orig{}", cpus));
        const Sections original = split_sections(read_bytes(t.state_path));
        for (const Engine engine : {Engine::Interp, Engine::Jit}) {
            SCOPED_TRACE(fmt::format("{} harts, restored under {}", cpus, engine == Engine::Jit ? "jit" : "interp"));
            auto m = restore(tiny_config(kernel, engine, cpus), t);
            ASSERT_TRUE(m.ok()) << m.error().message;
            (*m)->pause();  // before run(): returns at once
            const machine::SnapshotTarget again{dir.path("again.state"), dir.path("again.mem")};
            ASSERT_TRUE((*m)->save_snapshot(again).ok());
            Sections resaved = split_sections(read_bytes(again.state_path));
            ASSERT_EQ(resaved.size(), original.size());
            for (size_t i = 0; i < original.size(); ++i) {
                EXPECT_EQ(resaved[i].first, original[i].first);
                if (original[i].first == "clock") continue;  // guest time ran on while restoring
                // The machine section records the engine the machine runs under.
                if (original[i].first == "machine" && engine != Engine::Interp) continue;
                EXPECT_EQ(resaved[i].second, original[i].second) << "section " << original[i].first;
            }
            StateReader old_clock(original[1].second, "clock"), new_clock(resaved[1].second, "clock");
            ASSERT_EQ(original[1].first, "clock");
            EXPECT_GE(new_clock.u64(), old_clock.u64()) << "guest time went backwards";
            EXPECT_EQ(read_bytes(again.memory_path), read_bytes(t.memory_path));
        }
    }
}

// A restored machine resumes where the snapshot was taken: its counters go on from the saved
// values (no reboot), under both engines.
TEST_F(MachineSnapshot, RestoredMachineGoesOnCounting) {
    const auto t = take(tiny_config(kernel, Engine::Jit, 2));
    const uint64_t saved0 = counter_in(t.memory_path, 0), saved1 = counter_in(t.memory_path, 1);
    for (const Engine engine : {Engine::Interp, Engine::Jit}) {
        machine::HostConsole& console = fresh_console();
        auto m = restore(tiny_config(kernel, engine, 2), read_bytes(t.state_path), t.memory_path, console);
        ASSERT_TRUE(m.ok()) << m.error().message;
        const machine::SnapshotTarget later{dir.path("later.state"), dir.path("later.mem")};
        {
            Runner runner(**m, console);
            save_while_running(**m, 2, later, {saved0, saved1});
            runner.stop();
        }
        EXPECT_GT(counter_in(later.memory_path, 0), saved0);
        EXPECT_GT(counter_in(later.memory_path, 1), saved1);
        // The state file is still the snapshot's: restoring changes neither file.
        EXPECT_EQ(counter_in(t.memory_path, 0), saved0);
    }
}

// Each way the configuration can describe another board is refused, naming the difference.
TEST_F(MachineSnapshot, RestoreRefusesAnotherBoard) {
    const auto t = take(tiny_config(kernel));  // 1 hart, 4 MiB, serial console, virtio-rng in slot 0

    auto more_ram = tiny_config(kernel);
    more_ram.memory_mib = 8;
    EXPECT_TRUE(fails_with(restore(more_ram, t), "RAM is 4 MiB, the configuration's 8 MiB"));

    EXPECT_TRUE(fails_with(restore(tiny_config(kernel, Engine::Interp, 2), t), "the snapshot has 1 harts, the configuration 2"));

    const auto no_rng = tiny_config(kernel, Engine::Interp, 1, false);
    EXPECT_TRUE(fails_with(restore(no_rng, t), "virtio slot 0 holds virtio-rng in the snapshot but nothing"));

    auto vconsole = tiny_config(kernel);
    vconsole.console = ConsoleKind::Virtio;
    EXPECT_TRUE(fails_with(restore(vconsole, t), "virtio slot 0 holds virtio-rng in the snapshot but virtio-console"));

    // The other way round: the configuration has a device the snapshot lacks.
    const auto t2 = take(tiny_config(kernel, Engine::Interp, 1, false), "norng");
    EXPECT_TRUE(fails_with(restore(tiny_config(kernel), t2), "virtio slot 0 holds nothing in the snapshot but virtio-rng"));

    EXPECT_TRUE(restore(tiny_config(kernel), t).ok()) << "the matching board must restore";
}

// Without any one of its sections the file restores nothing, and the error names the section.
TEST_F(MachineSnapshot, RestoreRefusesAMissingSection) {
    const auto t = take(tiny_config(kernel));
    for (const auto& [name, payload] : split_sections(read_bytes(t.state_path))) {
        SCOPED_TRACE(name);
        EXPECT_TRUE(fails_with(restore_edited(tiny_config(kernel), t, name, nullptr), "has no '" + name + "'"));
    }
}

// Every section cut short by a byte, or with a byte too many, is an error (never a crash, never
// a partly restored machine): each component's reader checks its framing.
TEST_F(MachineSnapshot, RestoreRefusesAnyTruncatedOrOverlongSection) {
    const auto t = take(tiny_config(kernel));
    for (const auto& [name, payload] : split_sections(read_bytes(t.state_path))) {
        SCOPED_TRACE(name);
        std::vector<uint8_t> shorter(payload.begin(), payload.end() - 1);
        EXPECT_FALSE(restore_edited(tiny_config(kernel), t, name, &shorter).ok());
        std::vector<uint8_t> longer = payload;
        longer.push_back(0);
        EXPECT_TRUE(fails_with(restore_edited(tiny_config(kernel), t, name, &longer), "left over"));
    }
}

// A state file with more harts or virtio slots than the board is not this board's.
TEST_F(MachineSnapshot, RestoreRefusesExtraSections) {
    const auto t = take(tiny_config(kernel));
    Sections sections = split_sections(read_bytes(t.state_path));
    sections.emplace_back("hart1", *find_section(sections, "hart0"));
    EXPECT_TRUE(fails_with(restore(tiny_config(kernel), join_sections(sections), t.memory_path, fresh_console()),
                           "more harts or virtio devices"));
    sections.pop_back();
    sections.emplace_back("virtio1", *find_section(sections, "virtio0"));
    EXPECT_TRUE(fails_with(restore(tiny_config(kernel), join_sections(sections), t.memory_path, fresh_console()),
                           "more harts or virtio devices"));
}

// Component checks behind the framing: values a component cannot hold are refused by its reader
// or its restore(), each with its own message.
TEST_F(MachineSnapshot, RestoreRefusesImpossibleComponentState) {
    const auto cfg2 = tiny_config(kernel, Engine::Interp, 2);
    const auto t = take(cfg2);
    Sections sections = split_sections(read_bytes(t.state_path));

    // A privilege level that does not exist: the priv byte follows x0..x31, f0..f31 and pc.
    std::vector<uint8_t> hart = *find_section(sections, "hart0");
    hart[(32 + 32 + 1) * 8] = 2;
    EXPECT_TRUE(fails_with(restore_edited(cfg2, t, "hart0", &hart), "privilege level 2"));

    // hart1's state in hart0's place: mhartid says which hart it is.
    EXPECT_TRUE(fails_with(restore_edited(cfg2, t, "hart0", find_section(sections, "hart1")), "says it is hart"));

    // A clock beyond 2^56 ticks.
    StateWriter clock;
    clock.u64(~0ull);
    EXPECT_TRUE(fails_with(restore_edited(cfg2, t, "clock", &clock.data()), "guest time out of range"));

    // The virtio slot's device type (the transport state's first u32) is not the configured one.
    std::vector<uint8_t> virtio = *find_section(sections, "virtio0");
    store_le<uint32_t>(virtio.data(), 2);  // virtio-blk
    EXPECT_TRUE(fails_with(restore_edited(cfg2, t, "virtio0", &virtio), "virtio slot holds a virtio-rng, the snapshot has a virtio-blk"));

    // The machine section of another architecture.
    StateWriter machine;
    write_machine_header(machine, {"x86_64", 2, kMachineMib << 20});
    EXPECT_TRUE(fails_with(restore_edited(cfg2, t, "machine", &machine.data()), "x86_64"));

    // The CLINT state of a one-hart machine for two harts.
    const auto t1 = take(tiny_config(kernel), "one");
    Sections one = split_sections(read_bytes(t1.state_path));
    EXPECT_TRUE(fails_with(restore_edited(cfg2, t, "clint", find_section(one, "clint")), "CLINT state has 1 harts"));
}

}  // namespace
}  // namespace trapeze::snapshot::test
