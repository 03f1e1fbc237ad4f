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
// Programs are the same mix as the JIT differential test's (integer, FP, atomics, LR/SC, loads
// and stores aligned, misaligned, faulting, CSR accesses, traps, self-modifying stores, forward
// branches), looped so they run as long as asked, bare or under Sv39, with a machine software
// interrupt pin toggled between slices (pins belong to the devices: the test drives the
// restored hart's pin as the original's).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "engine_rig.hpp"
#include "rv64/hart_state.hpp"
#include "rv64/isa/op.hpp"
#include "snapshot/memory_file.hpp"
#include "snapshot/state_stream.hpp"

namespace trapeze::rv64::test {
namespace {

using namespace csr;

constexpr uint64_t kBase = 0x80000000;
constexpr uint64_t kRamSize = 1 << 20;
constexpr uint64_t kHandler = kBase + 0x8000;
constexpr uint64_t kData = kBase + 0x10000;  // two data pages
constexpr uint64_t kRoot = kBase + 0x20000;  // Sv39 root table
constexpr unsigned kSlots = 300;

// Registers with fixed roles; random instructions never write them.
constexpr unsigned kBadBase = 6, kCodeBase = 7, kDataBase = 8, kEdgeBase = 9, kSmcValue = 27;
constexpr unsigned kHandlerA = 30, kHandlerB = 31;

bool reserved(unsigned r) {
    return r == kBadBase || r == kCodeBase || r == kDataBase || r == kEdgeBase || r == kSmcValue || r == kHandlerA ||
           r == kHandlerB;
}

uint32_t addi(uint32_t rd, uint32_t rs1, int32_t imm) { return enc_i(imm, rs1, 0, rd, 0x13); }
uint32_t csrrs(uint32_t rd, uint32_t csr, uint32_t rs1) { return enc_i(static_cast<int32_t>(csr), rs1, 2, rd, 0x73); }
uint32_t csrrw(uint32_t rd, uint32_t csr, uint32_t rs1) { return enc_i(static_cast<int32_t>(csr), rs1, 1, rd, 0x73); }
constexpr uint32_t kMret = 0x30200073;

enum class Kind { Plain, Load, Store, Atomic, Other };

Kind kind_of(Op op) {
    switch (op) {
        case Op::lb: case Op::lh: case Op::lw: case Op::ld: case Op::lbu: case Op::lhu: case Op::lwu:
        case Op::flw: case Op::fld:
            return Kind::Load;
        case Op::sb: case Op::sh: case Op::sw: case Op::sd: case Op::fsw: case Op::fsd:
            return Kind::Store;
        case Op::cbo_inval: case Op::cbo_clean: case Op::cbo_flush: case Op::cbo_zero:
        case Op::jal: case Op::jalr: case Op::beq: case Op::bne: case Op::blt:
        case Op::bge: case Op::bltu: case Op::bgeu: case Op::ecall: case Op::ebreak: case Op::mret:
        case Op::sret: case Op::wfi: case Op::csrrw: case Op::csrrs: case Op::csrrc: case Op::csrrwi:
        case Op::csrrsi: case Op::csrrci: case Op::invalid:
            return Kind::Other;
        default:
            break;
    }
    const std::string_view m = mnemonic(op);
    if (m.starts_with("lr.") || m.starts_with("sc.") || m.starts_with("amo")) return Kind::Atomic;
    return Kind::Plain;
}

// A loop of kSlots instructions: forward control transfers only to the start of a construct,
// and the last slot jumps back to the first.
class ProgramGenerator {
public:
    explicit ProgramGenerator(uint64_t seed) : m_rng(seed) {
        for (const OpInfo& info : op_table()) m_by_kind[static_cast<size_t>(kind_of(info.op))].push_back(info);
    }

    std::vector<uint32_t> generate() {
        std::vector<uint32_t> p(kSlots, addi(0, 0, 0));
        std::vector<bool> starts(kSlots, false);
        struct Fixup {
            unsigned slot, distance;
            bool jal;
        };
        std::vector<Fixup> fixups;
        for (unsigned i = 0; i + 8 < kSlots;) {
            starts[i] = true;
            const unsigned c = below(100);
            if (c < 45) {
                p[i++] = with_rd(random_of(Kind::Plain), free_reg());
            } else if (c < 62) {  // loads and stores around the data bases, some faulting
                const bool store = c >= 54;
                uint32_t insn = random_of(store ? Kind::Store : Kind::Load);
                if (!store) insn = with_rd(insn, free_reg());
                const unsigned b = below(10);
                insn = with_rs1(insn, b < 5 ? kDataBase : b < 9 ? kEdgeBase : kBadBase);
                p[i++] = with_imm12(insn, store, static_cast<int32_t>(below(24)) - 12);
            } else if (c < 70) {  // atomics, LR/SC included: the reservation crosses snapshots
                p[i++] = with_rs1(with_rd(random_of(Kind::Atomic), free_reg()), below(4) == 0 ? kEdgeBase : kDataBase);
            } else if (c < 80) {  // forward branch or jump over 0..3 instructions
                const uint32_t f3s[] = {0, 1, 4, 5, 6, 7};
                const bool jal = c >= 77;
                fixups.push_back({i, 1 + below(4), jal});
                p[i++] = jal ? enc_j(0, below(2) == 0 ? 0 : free_reg()) : enc_b(0, below(32), below(32), f3s[below(6)]);
            } else if (c < 88) {  // CSRs, the counters among them
                const uint32_t csrs[] = {MINSTRET, MCYCLE, MSCRATCH, MCAUSE, MEPC, MSTATUS, 0xc02 /* instret */};
                const uint32_t csr = csrs[below(7)];
                p[i++] = csr == MSCRATCH && below(2) == 0 ? csrrw(free_reg(), csr, below(32)) : csrrs(free_reg(), csr, 0);
            } else if (c < 93) {  // self-modifying: rewrite a later slot of this construct
                const unsigned gap = below(4);
                const unsigned target = i + 3 + gap;
                for (unsigned k = 0; k < gap; ++k) p[i + 3 + k] = with_rd(random_of(Kind::Plain), free_reg());
                const uint32_t insn = addi(free_reg(), below(32), static_cast<int32_t>(below(2048)));
                const auto hi = static_cast<int32_t>((insn + 0x800) >> 12);
                const int32_t lo = static_cast<int32_t>(insn & 0xfff) - ((insn & 0x800) != 0 ? 0x1000 : 0);
                p[i] = (static_cast<uint32_t>(hi) << 12) | kSmcValue << 7 | 0x37;  // lui
                p[i + 1] = enc_i(lo, kSmcValue, 0, kSmcValue, 0x1b);               // addiw
                p[i + 2] = enc_s(static_cast<int32_t>(4 * target), kSmcValue, kCodeBase, 2, 0x23);
                i += 4 + gap;
            } else {
                const uint32_t traps[] = {0x00000073 /* ecall */, 0x00100073 /* ebreak */, 0 /* illegal */,
                                          0x12000073 /* sfence.vma */, 0x0000100f /* fence.i */};
                p[i++] = traps[below(5)];
            }
        }
        starts[kSlots - 1] = true;
        p.back() = enc_j(-static_cast<int32_t>(4 * (kSlots - 1)), 0);  // back to the top
        for (const Fixup& f : fixups) {
            unsigned t = f.slot + f.distance;
            while (!starts[t]) ++t;
            const auto off = static_cast<int32_t>(4 * (t - f.slot));
            p[f.slot] = f.jal ? enc_j(off, p[f.slot] >> 7 & 31)
                              : enc_b(off, p[f.slot] >> 20 & 31, p[f.slot] >> 15 & 31, p[f.slot] >> 12 & 7);
        }
        return p;
    }

    uint64_t next() { return m_rng(); }
    unsigned below(unsigned n) { return static_cast<unsigned>(m_rng() % n); }

private:
    unsigned free_reg() {
        for (;;) {
            const unsigned r = below(32);
            if (!reserved(r)) return r;
        }
    }
    uint32_t random_of(Kind k) {
        const auto& v = m_by_kind[static_cast<size_t>(k)];
        const OpInfo& info = v[below(static_cast<unsigned>(v.size()))];
        return info.match | (static_cast<uint32_t>(m_rng()) & ~info.mask);
    }
    static uint32_t with_rd(uint32_t insn, unsigned rd) { return (insn & ~(0x1fu << 7)) | rd << 7; }
    static uint32_t with_rs1(uint32_t insn, unsigned rs1) { return (insn & ~(0x1fu << 15)) | rs1 << 15; }
    static uint32_t with_imm12(uint32_t insn, bool store, int32_t imm) {
        if (store) return (insn & 0x01fff07f) | (enc_s(imm, 0, 0, 0, 0) & 0xfe000f80);
        return (insn & 0x000fffff) | (static_cast<uint32_t>(imm) & 0xfff) << 20;
    }

    std::mt19937_64 m_rng;
    std::vector<OpInfo> m_by_kind[5];
};

// One hart on its own RAM (made fresh, or mapped from a memory file) under either engine.
struct Rig {
    Rig(Engine e, GuestMemory ram, const jit::JitConfig& cfg)
        : mem(std::move(ram)), hart(HartConfig{0, true}, mem, bus, clock) {
        if (e == Engine::Jit) {
            jit = std::move(jit::Jit::create(mem, cfg).value());
            jit->attach(hart);
        } else {
            interp = std::make_unique<interp::Interpreter>(mem);
            interp->attach(hart);
        }
    }
    void run(uint64_t budget) {
        if (jit != nullptr) jit->run(hart, budget);
        else interp->run(hart, budget);
    }
    uint64_t retired() const { return jit != nullptr ? jit->retired() : interp->retired(); }
    void poke32(uint64_t a, uint32_t v) { store_le<uint32_t>(mem.span(Gpa(a), 4).data(), v); }
    void poke64(uint64_t a, uint64_t v) { store_le<uint64_t>(mem.span(Gpa(a), 8).data(), v); }

    GuestClock clock;
    GuestMemory mem;
    MmioBus bus;
    Hart hart;
    std::unique_ptr<interp::Interpreter> interp;
    std::unique_ptr<jit::Jit> jit;
};

enum class Paging { Bare, Sv39, Sv39NoAccessedDirty };

// The program, its M-mode trap handler (skips a trapping instruction; returns from an
// interrupt), random registers and data; under Sv39 the first GiB of VA maps onto RAM by one
// gigapage, with A and D already set or left for the hart to set.
void install(Rig& rig, uint64_t seed, Paging paging) {
    ProgramGenerator gen(seed);
    const auto program = gen.generate();
    for (size_t i = 0; i < program.size(); ++i) rig.poke32(kBase + 4 * i, program[i]);
    const std::vector<uint32_t> handler = {csrrs(kHandlerA, MCAUSE, 0), csrrs(kHandlerB, MEPC, 0), enc_b(8, 0, kHandlerA, 4),
                                           addi(kHandlerB, kHandlerB, 4), csrrw(0, MEPC, kHandlerB), kMret};
    for (size_t i = 0; i < handler.size(); ++i) rig.poke32(kHandler + 4 * i, handler[i]);
    std::mt19937_64 data_rng(seed);
    for (uint64_t a = kData; a < kData + 0x2000; a += 8) rig.poke64(a, data_rng());
    Hart& h = rig.hart;
    h.reset(kBase);
    HartState& s = h.s;
    for (unsigned r = 1; r < 32; ++r) s.x[r] = gen.next();
    for (unsigned r = 0; r < 32; ++r) s.f[r] = gen.next();
    s.x[kBadBase] = 0x1000;
    s.x[kCodeBase] = kBase;
    s.x[kDataBase] = kData + 8 * gen.below(64);
    s.x[kEdgeBase] = kData + 0x1000 - 1 - gen.below(8);
    s.mtvec = kHandler;
    s.mstatus |= MSTATUS_FS | MSTATUS_SD;  // FP enabled (dirty), so F/D instructions execute
    s.mie = MIP_MSIP;
    s.mstatus |= MSTATUS_MIE;
    if (paging == Paging::Bare) return;
    const uint64_t leaf = paging == Paging::Sv39 ? 0xcf : 0x0f;  // V R W X, with or without A D
    rig.poke64(kRoot + 0 * 8, (kBase >> 12) << 10 | leaf);        // VA 0 -> RAM
    rig.poke64(kRoot + 2 * 8, (kBase >> 12) << 10 | leaf);        // identity
    for (uint64_t* reg : {&s.x[kCodeBase], &s.x[kDataBase], &s.x[kEdgeBase], &s.pc}) *reg -= kBase;
    s.x[kBadBase] = 0x40000000;  // unmapped: page faults
    s.mstatus |= 1ull << 11;     // MPP = S: the handler returns to S-mode
    ASSERT_TRUE(h.csr_write(PMPADDR0, ~0ull >> 10));
    ASSERT_TRUE(h.csr_write(PMPCFG0, 0x1f));
    ASSERT_TRUE(h.csr_write(SATP, SATP_MODE_SV39 << 60 | (seed & 0x7ff) << SATP_ASID_SHIFT | kRoot >> 12));
    s.priv = Priv::S;
    h.update_mmu_view();
}

std::vector<uint8_t> encode(const HartState& s) {
    snapshot::StateWriter w;
    s.write(w);
    return w.take();
}

bool same_ram(const Rig& a, const Rig& b) {
    return std::memcmp(a.mem.host_base(), b.mem.host_base(), kRamSize) == 0;
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
    Rig a(sc.saved_under, GuestMemory::create(Gpa(kBase), kRamSize).value(), jit_cfg);
    install(a, sc.seed, sc.paging);
    if (::testing::Test::HasFatalFailure()) return;

    std::mt19937_64 slices(sc.seed ^ 0x5eed);
    bool pin = false;
    auto slice = [&](Rig& r, uint64_t budget) {
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
    Rig b(sc.restored_under, std::move(*ram), jit_cfg);
    snapshot::StateReader reader(state, "hart0");
    const HartState restored = HartState::read(reader);
    ASSERT_TRUE(reader.finish().ok()) << reader.finish().error().message;
    ASSERT_TRUE(b.hart.restore(restored).ok());
    ASSERT_TRUE(same_ram(a, b)) << "the restored RAM is not the RAM at the snapshot";
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
    EXPECT_TRUE(same_ram(a, b)) << "RAM differs after the resumed run";
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
