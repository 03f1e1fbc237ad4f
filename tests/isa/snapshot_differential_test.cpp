// Snapshot differential runs: a random program runs on a hart for a while, its state is saved
// the way RiscvMachine saves it (HartState::write into bytes, guest RAM through
// save_memory_full, or a full snapshot and then a diff merged onto it with rebase_memory_file),
// and restored into a fresh hart and RAM (HartState::read, Hart::restore, RAM mapped from the
// file by GuestMemory::create_from_file). The original goes on running; the restored one runs
// the same slices, under the same engine or the other one; after every slice the architectural
// state (every HartState field, through its encoding) must be equal, and RAM at the end.
//
// Counts: neither engine stops at an exact instruction count. Both run whole blocks until the
// slice's budget is reached, and the JIT runs exactly the blocks the interpreter would
// (jit.hpp; tests/unit/rv64/jit/differential_test.cpp holds them to it). A snapshot is taken
// between slices, at a block boundary, and the restored hart starts a block there too: block
// contents depend only on the code in RAM (not on what the engine had cached), so both sides
// retire the same blocks for the same budgets, which the test checks as well (retired counts).
//
// Programs come from the JIT differential test's generator (random_program.hpp), in much the
// same mix (integer, FP, atomics, LR/SC, loads and stores aligned, misaligned, faulting, CSR
// accesses, traps, self-modifying stores, forward branches), looped so they run as long as
// asked, bare or under Sv39, with a machine software interrupt pin toggled between slices (pins
// belong to the devices: the test drives the restored hart's pin as the original's).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "engine_rig.hpp"
#include "random_program.hpp"
#include "rv64/hart_state.hpp"
#include "snapshot/memory_file.hpp"
#include "snapshot/state_stream.hpp"

namespace trapeze::rv64::test {
namespace {

using namespace csr;
using namespace random_program;

constexpr uint64_t kRamSize = EngineRig::kRamSize;
// The JIT differential test's mix without CBOs and indirect jumps; the program loops.
constexpr unsigned kSlots = 300;
constexpr Mix kMix{.plain = 45, .load = 54, .store = 62, .atomic = 70, .cbo = 70, .branch = 77, .jal = 80,
                   .jalr = 80, .csr = 88, .smc = 93, .jal_reach = 4};

enum class Paging { Bare, Sv39, Sv39NoAccessedDirty };

// The program, its M-mode trap handler (skips a trapping instruction; returns from an
// interrupt), random registers and data; under Sv39 the first GiB of VA maps onto RAM by one
// gigapage, with A and D already set or left for the hart to set.
void install(EngineRig& rig, uint64_t seed, Paging paging) {
    ProgramGenerator gen(seed, kSlots, kMix, Ending::LoopBack);
    const auto program = gen.generate();
    rig.hart.reset(kBase);
    random_program::install(rig, program, gen, seed);
    HartState& s = rig.hart.s;
    s.mstatus |= MSTATUS_SD;
    s.mie = MIP_MSIP;
    s.mstatus |= MSTATUS_MIE;
    if (paging == Paging::Bare) return;
    enter_sv39(rig, seed & 0x7ff, paging == Paging::Sv39 ? 0xcf : 0x0f);  // V R W X, with or without A D
}

std::vector<uint8_t> encode(const HartState& s) {
    snapshot::StateWriter w;
    s.write(w);
    return w.take();
}

// A temporary directory for the memory files, removed with them.
struct TempDir {
    TempDir() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "trapeze-snapdiff-XXXXXX").string();
        path = ::mkdtemp(tmpl.data()) != nullptr ? tmpl : "";
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    std::string path;
};

struct Scenario {
    uint64_t seed;
    Engine saved_under, restored_under;
    Paging paging;
    bool diff;  // full snapshot, a few slices, then a diff merged onto it (else one full snapshot)
};

std::string describe(const Scenario& sc) {
    const auto engine = [](Engine e) { return e == Engine::Jit ? "jit" : "interp"; };
    const char* paging = sc.paging == Paging::Bare ? "bare" : sc.paging == Paging::Sv39 ? "sv39" : "sv39-no-A/D";
    return fmt::format("seed {} {} -> {} {} {}", sc.seed, engine(sc.saved_under), engine(sc.restored_under), paging,
                       sc.diff ? "full+diff" : "full");
}

void run_scenario(const Scenario& sc) {
    SCOPED_TRACE(describe(sc));
    // translate_after 16 on odd seeds: the original runs translated blocks, the restored hart
    // starts over in the interpreter's semantics until its blocks are hot again.
    jit::JitConfig jit_cfg = EngineRig::eager();
    if (sc.seed % 2 == 1) jit_cfg.translate_after = 16;
    EngineRig a(sc.saved_under, jit_cfg);
    install(a, sc.seed, sc.paging);
    if (::testing::Test::HasFatalFailure()) return;

    std::mt19937_64 slices(sc.seed ^ 0x5eed);
    bool pin = false;
    auto slice = [&](EngineRig& r, uint64_t budget) {
        r.hart.set_irq_pin(MIP_MSIP, pin);
        r.run(budget);
    };
    auto next_slice = [&] {
        if (slices() % 6 == 0) pin = !pin;
        return 1 + slices() % 40;  // small budgets end slices inside chains
    };

    TempDir dir;
    ASSERT_FALSE(dir.path.empty());
    const std::string base = dir.path + "/base.mem", diff = dir.path + "/diff.mem";
    // The first snapshot: after 0..29 slices (0: before the program's first instruction; always
    // so when the hart is to set A and D, so that it does so after the full snapshot).
    unsigned before = static_cast<unsigned>(slices() % 30);
    if (sc.paging == Paging::Sv39NoAccessedDirty) before = 0;
    for (unsigned i = 0; i < before; ++i) slice(a, next_slice());
    auto saved = snapshot::save_memory_full(a.mem, base);
    ASSERT_TRUE(saved.ok()) << saved.error().message;
    std::vector<uint8_t> state = encode(a.hart.s);
    if (sc.diff) {
        // As RiscvMachine::save_snapshot: the dirty log starts over and the hart forgets its
        // writable translations, so its next store to any page logs it again.
        (void)a.mem.take_dirty();
        a.hart.flush_tlb();
        for (unsigned i = 0; i < 20; ++i) slice(a, next_slice());
        ASSERT_TRUE(snapshot::save_memory_diff(a.mem, a.mem.take_dirty(), diff).ok());
        a.hart.flush_tlb();
        state = encode(a.hart.s);
        auto copied = snapshot::rebase_memory_file(base, diff);
        ASSERT_TRUE(copied.ok()) << copied.error().message;
    }
    const bool pin_at_snapshot = pin;
    const uint64_t retired_at_snapshot = a.retired();

    auto fd = snapshot::open_memory_file(base, kRamSize);
    ASSERT_TRUE(fd.ok()) << fd.error().message;
    auto ram = GuestMemory::create_from_file(Gpa(kBase), kRamSize, fd->get());
    ASSERT_TRUE(ram.ok()) << ram.error().message;
    EngineRig b(sc.restored_under, std::move(*ram), jit_cfg);
    snapshot::StateReader reader(state, "hart0");
    const HartState restored = HartState::read(reader);
    ASSERT_TRUE(reader.finish().ok()) << reader.finish().error().message;
    ASSERT_TRUE(b.hart.restore(restored).ok());
    ASSERT_TRUE(same_memory(a, b)) << "the restored RAM is not the RAM at the snapshot";
    ASSERT_EQ(pin, pin_at_snapshot);

    for (unsigned step = 0; step < 60; ++step) {
        const uint64_t budget = step + 1 == 60 ? 3000 : next_slice();  // the last: many laps of the loop
        slice(a, budget);
        slice(b, budget);
        ASSERT_EQ(encode(a.hart.s), encode(b.hart.s))
            << "after slice " << step << " (budget " << budget << ") of the resumed run:\n"
            << diff_state(a.hart.s, b.hart.s) << "(diff_state names interp/jit for original/restored)";
        if (b.jit != nullptr) b.jit->wait_for_translations();
    }
    EXPECT_TRUE(same_memory(a, b)) << "RAM differs after the resumed run";
    EXPECT_EQ(a.retired() - retired_at_snapshot, b.retired()) << "the two sides retired different counts";
}

constexpr Engine kEngines[] = {Engine::Interp, Engine::Jit};

// One full snapshot, resumed under the engine that saved it and under the other one.
TEST(SnapshotDifferential, FullSnapshotResumesIdentically) {
    for (uint64_t seed = 1; seed <= 40; ++seed) {
        for (const Paging paging : {Paging::Bare, Paging::Sv39}) {
            for (const Engine from : kEngines) {
                for (const Engine to : kEngines) {
                    run_scenario({seed, from, to, paging, false});
                    if (::testing::Test::HasFailure()) return;
                }
            }
        }
    }
}

// A full snapshot, then a diff of the pages written since, merged onto it: resumes the same as
// the original (the dirty log missed no page the program or the trap handler wrote).
TEST(SnapshotDifferential, RebasedDiffSnapshotResumesIdentically) {
    for (uint64_t seed = 1; seed <= 40; ++seed) {
        for (const Paging paging : {Paging::Bare, Paging::Sv39}) {
            for (const Engine from : kEngines) {
                run_scenario({seed, from, from == Engine::Jit ? Engine::Interp : Engine::Jit, paging, true});
                if (::testing::Test::HasFailure()) return;
            }
        }
    }
}

// The same with page tables whose leaves lack A and D, as an OS leaves them for the hart to set
// (priv spec §4.3.2 step 7): those PTE writes, made by the page walker after the full
// snapshot, must be in the diff too.
TEST(SnapshotDifferential, RebasedDiffSnapshotKeepsAccessedDirtyBits) {
    for (uint64_t seed = 1; seed <= 20; ++seed) {
        for (const Engine from : kEngines) {
            run_scenario({seed, from, from, Paging::Sv39NoAccessedDirty, true});
            if (::testing::Test::HasFailure()) return;
        }
    }
}

}  // namespace
}  // namespace trapeze::rv64::test
