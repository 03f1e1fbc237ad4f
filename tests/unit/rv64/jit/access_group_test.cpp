// Access groups (Emitter: loads and stores off one base register sharing one TLB probe) must
// behave exactly as accesses probing one by one: across slow-path calls, page ends,
// read-only pages and a load that replaces the base.
#include <deque>

#include "engine_rig.hpp"
#include "hart_fixture.hpp"

namespace trapeze::rv64::test {
namespace {

constexpr uint64_t kBase = EngineRig::kBase;
constexpr uint32_t kPark = 0x0000006f;

// Counts its reads: every load from it takes the JIT's slow path (a helper call).
struct Counter : MmioDevice {
    uint64_t reads = 0;
    uint64_t mmio_read(uint64_t, unsigned) override { return ++reads; }
    void mmio_write(uint64_t, uint64_t, unsigned) override {}
};

// VA 0: the code (kBase); VA 0x1000 and 0x2000: frames far apart (kBase + 0x20000, + 0x30000).
constexpr uint64_t kRoot = kBase + 0x40000;
void map_code_and_data(EngineRig& r, bool first_data_page_writable) {
    r.map_page(kRoot, 0, kBase, false);
    r.map_page(kRoot, 1, kBase + 0x20000, first_data_page_writable);
    r.map_page(kRoot, 2, kBase + 0x30000);
}

// A loop whose group (three loads off x10) spans writes to more registers than the cache
// holds: rdi holds the group's addend there, so it must not be handed out as the eighth
// cache register (it is one only in regions without groups).
TEST(AccessGroup, KeepsRdiFromTheRegisterCache) {
    auto program = [](EngineRig& r) {
        constexpr uint64_t kData = kBase + 0x8000;
        for (unsigned i = 0; i < 48; ++i) r.poke64(kData + 8 * i, 5 * i + 3);
        r.hart.s.x[10] = kData;
        r.hart.s.x[11] = kData + 8 * 48;
        std::vector<uint32_t> code{ld(5, 10, 0)};  // loop: ld x5, 0(x10)
        for (uint32_t x = 12; x <= 19; ++x) code.push_back(add(x, x - 1, x));  // add x12, x11, x12 ...
        code.insert(code.end(), {
                                    ld(6, 10, 8),           // ld x6, 8(x10)
                                    add(20, 6, 20),         // add x20, x6, x20
                                    ld(7, 10, 16),          // ld x7, 16(x10)
                                    add(21, 7, 21),         // add x21, x7, x21
                                    add(12, 12, 5),         // add x12, x12, x5
                                    addi(10, 10, 24),       // addi x10, x10, 24
                                    enc_b(-60, 11, 10, 6),  // bltu x10, x11, loop
                                    kPark,
                                });
        for (size_t i = 0; i < code.size(); ++i) r.code(kBase + 4 * i, {code[i]});
    };
    expect_engines_agree(program, 100000, "a group across many registers", [](EngineRig& r) {
        EXPECT_EQ(r.hart.s.x[10], kBase + 0x8000 + 8 * 48);
        EXPECT_GE(r.jit->stats().shared_probes, 3u);
    });
}

// A loop whose group (stores and a load off x10) has a load from a device in the middle:
// the device load's helper call must leave the group's addend (rdi) intact, or the stores
// after it land outside guest memory.
TEST(AccessGroup, SurvivesASlowPathCallInTheMiddle) {
    constexpr uint64_t kDevice = 0x10000000;
    std::deque<Counter> counters;  // one per rig (the bus keeps a pointer)
    auto program = [&](EngineRig& r) {
        ASSERT_TRUE(r.bus.map(Gpa(kDevice), 0x1000, counters.emplace_back(), "counter").ok());
        r.hart.s.x[10] = kBase + 0x8000;
        r.hart.s.x[11] = kDevice;
        r.hart.s.x[28] = 5;
        r.code(kBase, {
                          sd(5, 10, 0),      // loop: sd x5, 0(x10)
                          lw(6, 11, 0),      //       lw x6, 0(x11)   (the device)
                          sd(6, 10, 8),      //       sd x6, 8(x10)
                          sd(5, 10, 16),     //       sd x5, 16(x10)
                          ld(7, 10, 8),      //       ld x7, 8(x10)
                          addi(5, 5, 3),     //       addi x5, x5, 3
                          addi(28, 28, -1),  //       addi x28, x28, -1
                          bne(28, 0, -28),   //       bne x28, x0, loop
                          kPark,
                      });
    };
    expect_engines_agree(program, 100, "device load inside a group", [](EngineRig& r) {
        EXPECT_EQ(r.hart.s.x[7], 5u);  // the fifth device read
        EXPECT_EQ(r.peek64(kBase + 0x8010), 12u);
        EXPECT_GE(r.jit->stats().shared_probes, 4u);
    });
}

// A group whose bytes span two pages that map to distant frames: no shared probe may cover
// both (each store must go through its own page's translation), and on a read-only page
// (whose read entry the TLB holds already) the group's store faults exactly where the
// interpreter's does, after the load before it.
TEST(AccessGroup, SpanningTwoPagesOrAReadOnlyPageProbesEachAccessAlone) {
    for (const bool read_only : {false, true}) {
        auto program = [&](EngineRig& r) {
            map_code_and_data(r, !read_only);
            r.hart.s.x[10] = read_only ? 0x1100 : 0x1ff0;
            r.hart.s.x[28] = 3;
            r.hart.s.mtvec = kBase + 0x400;
            r.code(kBase + 0x400, {kPark});
            r.code(kBase, {
                              ld(6, 10, 0),      //       ld x6, 0(x10)   (a read entry)
                              enc_j(4, 0),       //       j loop
                              ld(6, 10, 0),      // loop: ld x6, 0(x10)
                              sd(5, 10, 0),      //       sd x5, 0(x10)
                              sd(5, 10, 8),      //       sd x5, 8(x10)
                              sd(5, 10, 16),     //       sd x5, 16(x10)
                              sd(5, 10, 24),     //       sd x5, 24(x10)
                              addi(5, 5, 1),     //       addi x5, x5, 1
                              addi(28, 28, -1),  //       addi x28, x28, -1
                              bne(28, 0, -28),   //       bne x28, x0, loop
                              kPark,
                          });
            r.enter_sv39(kRoot);
        };
        expect_engines_agree(program, 100, read_only ? "read-only page" : "two pages", [&](EngineRig& r) {
            if (read_only) {
                EXPECT_EQ(r.hart.s.mcause, csr::EXC_STORE_PAGE_FAULT);
                EXPECT_EQ(r.hart.s.mepc, 12u);
            } else {
                EXPECT_EQ(r.peek64(kBase + 0x30000), 2u);  // VA 0x2000: the third round's x5
                EXPECT_EQ(r.peek64(kBase + 0x21000), 0u);  // the frame after VA 0x1000's
            }
        });
    }
}

// A load into the base register is its group's last member: the stores after it use the
// loaded pointer, into another page mapped to a distant frame, and must not reuse the old
// page's addend.
TEST(AccessGroup, EndsAtALoadIntoTheBase) {
    auto program = [](EngineRig& r) {
        map_code_and_data(r, true);
        r.poke64(kBase + 0x20010, 0x2000);
        r.hart.s.x[12] = 0x1000;
        r.hart.s.x[28] = 3;
        r.code(kBase, {
                          addi(10, 12, 0),    // loop: mv x10, x12
                          sd(5, 10, 0),       //       sd x5, 0(x10)
                          sd(5, 10, 8),       //       sd x5, 8(x10)
                          ld(10, 10, 16),     //       ld x10, 16(x10): VA 0x2000
                          sd(5, 10, 0),       //       sd x5, 0(x10)
                          sd(5, 10, 8),       //       sd x5, 8(x10)
                          addi(5, 5, 1),      //       addi x5, x5, 1
                          addi(28, 28, -1),   //       addi x28, x28, -1
                          bne(28, 0, -32),    //       bne x28, x0, loop
                          kPark,
                      });
        r.enter_sv39(kRoot);
    };
    expect_engines_agree(program, 200, "load into the base", [](EngineRig& r) {
        EXPECT_EQ(r.peek64(kBase + 0x30008), 2u);
        EXPECT_EQ(r.peek64(kBase + 0x20008), 2u);
    });
}

uint32_t andi(uint32_t rd, uint32_t rs1, int32_t imm) { return enc_i(imm, rs1, 7, rd, 0x13); }
uint32_t slli(uint32_t rd, uint32_t rs1, int32_t shamt) { return enc_i(shamt, rs1, 1, rd, 0x13); }
uint32_t jalr(uint32_t rd, uint32_t rs1, int32_t imm) { return enc_i(imm, rs1, 0, rd, 0x67); }

// x7 = x10 + ((x6 + k) & 15) * 4: an element of a 16-word array off x10 (SHA-2's W[t & 15]).
void indexed(std::vector<uint32_t>& code, int32_t k) {
    code.insert(code.end(), {addi(7, 6, k), andi(7, 7, 15), slli(7, 7, 2), add(7, 10, 7)});
}

// Lays out `body` at `at` (and VA 0 if paged), run x28 times: the block jumps back to itself
// through jalr x0, 0(x20), an indirect jump, so its translation is not a loop region (loops
// use page memos instead of groups) while the TLB is warm from the second pass on.
void repeat(EngineRig& r, uint64_t at, std::vector<uint32_t> body, uint64_t times) {
    body.insert(body.end(), {addi(28, 28, -1), enc_b(8, 0, 28, 0), jalr(0, 20, 0), kPark});
    for (size_t i = 0; i < body.size(); ++i) r.code(at + 4 * i, {body[i]});
    r.hart.s.x[28] = times;
}

// Outside loops, accesses through addresses computed as a base plus a masked index join the
// base's access group (access_ranges): one probe for the whole array, and every element
// still lands where the interpreter puts it.
TEST(AccessGroup, IndexedAccessesShareTheirBasesProbe) {
    auto program = [](EngineRig& r) {
        constexpr uint64_t kArray = kBase + 0x8000;
        for (unsigned i = 0; i < 16; ++i) r.poke32(kArray + 4 * i, 100 + i);
        r.hart.s.x[10] = kArray;
        r.hart.s.x[6] = 29;  // indices 13, 14, 3, 7 below
        r.hart.s.x[20] = kBase;
        std::vector<uint32_t> code{lw(11, 10, 0)};
        indexed(code, 0);
        code.push_back(lw(12, 7, 0));
        indexed(code, 1);
        code.push_back(lw(13, 7, 0));
        indexed(code, 6);
        code.push_back(sw(12, 7, 0));
        indexed(code, 10);
        code.insert(code.end(), {add(13, 13, 11), sw(13, 7, 0)});
        repeat(r, kBase, code, 3);
    };
    expect_engines_agree(program, 1000, "indexed accesses in a group", [](EngineRig& r) {
        EXPECT_EQ(r.hart.s.x[28], 0u);
        EXPECT_EQ(r.hart.s.x[12], 113u);
        EXPECT_EQ(r.hart.s.x[13], 214u);
        EXPECT_EQ(r.peek64(kBase + 0x8000 + 4 * 3) & 0xffffffff, 113u);
        EXPECT_EQ(r.peek64(kBase + 0x8000 + 4 * 7) & 0xffffffff, 214u);
        EXPECT_GE(r.jit->stats().shared_probes, 5u);
    });
}

// A function's prologue: two loads off an argument (x10) around four stores off sp (x2).
// Only one group is live at a time (rdi holds its addend), so the planner must choose: the
// stores' group saves three probes, the loads' one. Taken first come, first served, the
// loads' group spanned the stores and left them to probe alone (2 shared probes, not 4).
TEST(AccessGroup, TheGroupsThatSaveTheMostProbesAreChosen) {
    auto program = [](EngineRig& r) {
        constexpr uint64_t kArg = kBase + 0x8000, kStack = kBase + 0x9000;
        r.poke64(kArg + 8, 0x1234);
        r.poke64(kArg + 16, 0x5678);
        r.hart.s.x[10] = kArg;
        r.hart.s.x[2] = kStack;
        r.hart.s.x[20] = kBase;
        for (uint32_t x : {1u, 8u, 9u, 18u}) r.hart.s.x[x] = 0x100 + x;
        repeat(r, kBase,
               {
                   ld(15, 10, 8),   // ld x15, 8(x10)
                   sd(1, 2, 48),    // sd x1, 48(x2)
                   sd(8, 2, 40),    // sd x8, 40(x2)
                   sd(9, 2, 32),    // sd x9, 32(x2)
                   sd(18, 2, 24),   // sd x18, 24(x2)
                   ld(16, 10, 16),  // ld x16, 16(x10)
                   add(1, 1, 15),   // add x1, x1, x15
               },
               3);
    };
    expect_engines_agree(program, 1000, "a prologue's groups", [](EngineRig& r) {
        EXPECT_EQ(r.hart.s.x[16], 0x5678u);
        EXPECT_EQ(r.peek64(kBase + 0x9000 + 40), 0x108u);
        EXPECT_EQ(r.peek64(kBase + 0x9000 + 48), 0x101u + 2 * 0x1234u);
        EXPECT_GE(r.jit->stats().shared_probes, 4u);
    });
}

// An indexed group whose array straddles two pages that map to distant frames: no shared
// probe may cover both, so each access goes through its own page's translation.
TEST(AccessGroup, IndexedAccessesAcrossTwoPagesProbeAlone) {
    auto program = [](EngineRig& r) {
        map_code_and_data(r, true);
        r.hart.s.x[10] = 0x1fe0;  // the array's words 8-15 are in VA page 2
        r.hart.s.x[6] = 12;
        std::vector<uint32_t> code{addi(5, 5, 1), sw(5, 10, 0), lw(12, 10, 4)};  // page 1 readable and writable
        indexed(code, 0);
        code.push_back(sw(5, 7, 0));  // word 12: VA 0x2010
        indexed(code, 1);
        code.push_back(lw(11, 7, 0));
        repeat(r, kBase, code, 3);
        r.enter_sv39(kRoot);
    };
    expect_engines_agree(program, 1000, "indexed group across pages", [](EngineRig& r) {
        EXPECT_EQ(r.hart.s.x[28], 0u);
        EXPECT_EQ(r.peek64(kBase + 0x20fe0) & 0xffffffff, 3u);
        EXPECT_EQ(r.peek64(kBase + 0x30010) & 0xffffffff, 3u);
        EXPECT_EQ(r.peek64(kBase + 0x21010), 0u);  // not past VA page 1's frame
    });
}

// An address computed from a base stays off the base's old value: after the base is written,
// accesses through the computed address must not share the probe of the base's new page.
TEST(AccessGroup, IndexedAddressOutlivesItsBase) {
    auto program = [](EngineRig& r) {
        map_code_and_data(r, true);
        r.poke64(kBase + 0x20100, 0x1000);  // VA 0x1100: the pointer x10 is loaded with
        r.hart.s.x[22] = 0x1100;
        r.hart.s.x[6] = 2;
        std::vector<uint32_t> code{addi(5, 5, 1), ld(10, 22, 0)};  // x10 = VA 0x1000
        indexed(code, 0);                                           // x7 = VA 0x1008
        code.insert(code.end(), {addi(10, 10, 0x7ff), addi(10, 10, 0x7ff), addi(10, 10, 2),  // x10 = VA 0x2000
                                 sd(5, 10, 0), sd(5, 10, 8), sw(5, 7, 0), sw(5, 7, 4)});
        repeat(r, kBase, code, 3);
        r.enter_sv39(kRoot);
    };
    expect_engines_agree(program, 1000, "indexed address after its base moved", [](EngineRig& r) {
        EXPECT_EQ(r.hart.s.x[28], 0u);
        EXPECT_EQ(r.peek64(kBase + 0x20008), 3u | (3ull << 32));
        EXPECT_EQ(r.peek64(kBase + 0x30008), 3u);
        EXPECT_GE(r.jit->stats().shared_probes, 2u);
    });
}

}  // namespace
}  // namespace trapeze::rv64::test
