// Page memos (Emitter: each load and store of a loop region reuses the TLB entry of the page
// it last hit) must behave exactly as accesses probing the TLB each time: across page ends into
// distant frames, for misaligned accesses, after the mapping changes, and when the translation
// is entered afresh. The Stack tests do the same for accesses off sp outside loops, which a
// memo shared by the whole stack would serve (tried: docs/performance.md, "Real programs").
#include <initializer_list>

#include "engine_rig.hpp"
#include "hart_fixture.hpp"
#include "rv64/jit/emitter.hpp"

namespace trapeze::rv64::test {
namespace {

constexpr uint64_t kBase = EngineRig::kBase;
constexpr uint32_t kPark = 0x0000006f;

// VA 0: the code (kBase). VA pages 1 and 2: frames far apart, so an access that used page 1's
// addend for an address in page 2 would land in the frame after page 1's, not in page 2's.
// VA page 3: the last-level page table, so the guest can remap page 1.
constexpr uint64_t kRoot = kBase + 0x40000;
constexpr uint64_t kFrame1 = kBase + 0x20000, kFrame2 = kBase + 0x30000, kFrame3 = kBase + 0x50000;
void map_pages(EngineRig& r) {
    r.map_page(kRoot, 0, kBase);
    r.map_page(kRoot, 1, kFrame1);
    r.map_page(kRoot, 2, kFrame2);
    r.map_page(kRoot, 3, kRoot + 0x2000);
    for (uint64_t i = 0; i < 0x1000; i += 8) {
        r.poke64(kFrame1 + i, 0x1000 + i);
        r.poke64(kFrame1 + 0x1000 + i, 0xdead);  // the frame after page 1's
        r.poke64(kFrame2 + i, 0x2000 + i);
        r.poke64(kFrame3 + i, 0x3000 + i);
    }
}

// A loop summing words off x10 and copying them off x11, both walking from page 1 into page 2:
// each memo must move to page 2's frame at the page end.
TEST(PageMemo, FollowsALoopIntoTheNextPagesFrame) {
    auto program = [](EngineRig& r) {
        map_pages(r);
        r.hart.s.x[10] = 0x1fe0;
        r.hart.s.x[11] = 0x1fd0;
        r.hart.s.x[28] = 8;
        r.code(kBase, {
                          ld(6, 10, 0),      // loop: ld x6, 0(x10)
                          add(7, 7, 6),      //       add x7, x7, x6
                          sd(6, 11, 0),      //       sd x6, 0(x11)
                          addi(10, 10, 8),   //       addi x10, x10, 8
                          addi(11, 11, 8),   //       addi x11, x11, 8
                          addi(28, 28, -1),  //       addi x28, x28, -1
                          bne(28, 0, -24),   //       bne x28, x0, loop
                          kPark,
                      });
        r.enter_sv39(kRoot);
    };
    expect_engines_agree(program, 200, "a loop across a page end", [](EngineRig& r) {
        // 0x1fe0..0x1ff8 from page 1, 0x2000..0x2018 from page 2.
        EXPECT_EQ(r.hart.s.x[7], 0xfe0u + 0xfe8 + 0xff0 + 0xff8 + 0x2000 + 0x2008 + 0x2010 + 0x2018 + 4 * 0x1000);
        EXPECT_EQ(r.peek64(kFrame2 + 0x8), 0x2018u);  // the last copy, at VA 0x2008
        EXPECT_EQ(r.peek64(kFrame1 + 0x1008), 0xdeadu);
        EXPECT_GE(r.jit->stats().memo_accesses, 2u);
    });
}

// A misaligned load off the memo's base, in the memo's page but running into page 2, must not
// match the memo (which would read the frame after page 1's).
TEST(PageMemo, MisalignedAccessNeverMatches) {
    auto program = [](EngineRig& r) {
        map_pages(r);
        r.hart.s.x[10] = 0x1ff8;
        r.hart.s.x[28] = 3;
        r.code(kBase, {
                          ld(6, 10, 0),      // loop: ld x6, 0(x10): the memo takes page 1
                          addi(10, 10, 0),   //       mv x10, x10 (no access group)
                          ld(7, 10, 4),      //       ld x7, 4(x10): 0x1ffc, into page 2
                          addi(10, 10, 0),   //       mv x10, x10
                          lw(5, 10, 6),      //       lw x5, 6(x10): 0x1ffe, into page 2
                          addi(28, 28, -1),  //       addi x28, x28, -1
                          bne(28, 0, -24),   //       bne x28, x0, loop
                          kPark,
                      });
        r.enter_sv39(kRoot);
    };
    expect_engines_agree(program, 200, "misaligned loads off the memo's base", [](EngineRig& r) {
        EXPECT_EQ(r.hart.s.x[28], 0u);  // no trap: misaligned loads are carried out
        EXPECT_EQ(r.hart.s.x[7], 0x2000ull << 32);  // 0x1ff8's upper half is 0
    });
}

// The loop remaps page 1 (a store to its leaf, then sfence.vma) and goes round again: its
// loads must see the new frame, however the translation is left and entered in between.
TEST(PageMemo, ForgottenWhenTheMappingChanges) {
    auto program = [](EngineRig& r) {
        map_pages(r);
        r.hart.s.x[10] = 0x1010;
        r.hart.s.x[12] = EngineRig::leaf(kFrame3);
        r.hart.s.x[13] = 0x3000 + 8 * 1;  // page 1's leaf, through VA page 3
        r.hart.s.x[28] = 2;
        r.code(kBase, {
                          ld(6, 10, 0),      // loop: ld x6, 0(x10)
                          add(7, 7, 6),      //       add x7, x7, x6
                          ld(6, 10, 8),      //       ld x6, 8(x10)
                          add(7, 7, 6),      //       add x7, x7, x6
                          sd(12, 13, 0),     //       sd x12, 0(x13): page 1 -> frame 3
                          kSfenceVma,        //       sfence.vma
                          addi(28, 28, -1),  //       addi x28, x28, -1
                          bne(28, 0, -28),   //       bne x28, x0, loop
                          kPark,
                      });
        r.enter_sv39(kRoot);
    };
    expect_engines_agree(program, 200, "a remap in the loop", [](EngineRig& r) {
        EXPECT_EQ(r.hart.s.x[7], 0x1010u + 0x1018 + 0x3010 + 0x3018);
    });
}

// Memos live as long as the trampoline's frame, not one translation: the remap here runs in
// another page's translation (a lone block) between two runs of the loop, and its
// sfence.vma (`sfence`) must still make the loop's load forget page 1's old frame. Page 1
// changes frames every time (3, 1, 3, ...); from the third run on, every jump is linked, so
// nothing passes through the dispatcher (where the trampoline forgets every memo) in between.
void remap_in_another_translation(uint32_t sfence, const char* what) {
    auto program = [sfence](EngineRig& r) {
        map_pages(r);
        r.map_page(kRoot, 4, kBase + 0x6000, false);  // VA 0x4000: the remap's code
        r.hart.s.x[10] = 0x1010;
        r.hart.s.x[12] = EngineRig::leaf(kFrame3);
        r.hart.s.x[13] = 0x3000 + 8 * 1;  // page 1's leaf, through VA page 3
        r.hart.s.x[14] = 0x1000;
        r.hart.s.x[15] = EngineRig::leaf(kFrame1) ^ EngineRig::leaf(kFrame3);
        r.hart.s.x[28] = 4;
        r.hart.s.x[29] = 4;
        r.code(kBase, {
                          ld(6, 10, 0),             // 0x00 loop: ld x6, 0(x10)
                          add(7, 7, 6),             // 0x04       add x7, x7, x6
                          addi(29, 29, -1),         // 0x08       addi x29, x29, -1
                          bne(29, 0, -12),          // 0x0c       bne x29, x0, loop
                          addi(28, 28, -1),         // 0x10       addi x28, x28, -1
                          enc_b(12, 0, 28, 0),      // 0x14       beq x28, x0, park
                          addi(29, 0, 4),           // 0x18       li x29, 4
                          enc_j(0x4000 - 0x1c, 0),  // 0x1c       j 0x4000
                          kPark,                    // 0x20 park
                      });
        r.code(kBase + 0x6000, {
                                   sd(12, 13, 0),                 // 0x4000: sd x12, 0(x13): page 1's frame
                                   enc_r(0, 15, 12, 4, 12, 0x33),  //         xor x12, x12, x15: the other next
                                   sfence,                        //         sfence.vma: this chains on
                                   enc_j(-0x400c, 0),             //         j loop
                               });
        r.enter_sv39(kRoot);
    };
    expect_engines_agree(program, 300, what, [](EngineRig& r) {
        EXPECT_EQ(r.hart.s.x[28], 0u);
        EXPECT_EQ(r.hart.s.x[7], 8 * 0x1010u + 8 * 0x3010u);
    });
}

TEST(PageMemo, ForgottenByARemapInAnotherTranslation) {
    remap_in_another_translation(kSfenceVma | 14u << 15, "sfence.vma x14: page 1 only");
}

// sfence.vma x0, x0 retires every TLB tag id (Hart::flush_tlb): the entries filled under the
// old one stay in the table, so a probe after it must compare with the new id, not with the
// frame's copy of the old (kFrameTlbTag, taken again after every system instruction).
TEST(PageMemo, ForgottenByAFullFlushInAnotherTranslation) {
    remap_in_another_translation(kSfenceVma, "sfence.vma: every page");
}

// Loads and stores have memos of their own: a store whose instruction would share the load's
// memo (the same hash) must not write through the page the load found readable (page 1,
// read-only here), but fault. The store writes page 2 until the eighth iteration, then page 1.
TEST(PageMemo, AStoreNeverTakesALoadsPage) {
    // The store's place: the first after the loop's head whose memo would be the load's.
    uint32_t at = 28;
    while (at < 0x700 && jit::Emitter::memo_slot(kBase + at, true) % 32 != jit::Emitter::memo_slot(kBase, false) % 32)
        at += 4;
    ASSERT_LT(at, 0x700u);
    auto program = [at](EngineRig& r) {
        map_pages(r);
        r.map_page(kRoot, 1, kFrame1, false);
        r.hart.s.x[10] = 0x1010;
        r.hart.s.x[28] = 10;
        r.hart.s.x[29] = 2;
        r.hart.s.mtvec = kBase + 0x800;
        r.code(kBase + 0x800, {kPark});
        r.code(kBase, {
                          ld(6, 10, 0),                    // loop: ld x6, 0(x10)
                          addi(10, 10, 0),                 //       mv x10, x10 (no access group)
                          addi(28, 28, -1),                //       addi x28, x28, -1
                          enc_r(0x20, 29, 28, 0, 12, 0x33),  //     sub x12, x28, x29
                          enc_r(0, 12, 0, 3, 13, 0x33),    //       sltu x13, x0, x12: x28 != x29
                          enc_i(12, 13, 1, 13, 0x13),      //       slli x13, x13, 12
                          add(11, 10, 13),                 //       add x11, x10, x13: page 2, or 1
                      });
        for (uint32_t pc = 28; pc < at; pc += 4) r.code(kBase + pc, {addi(7, 7, 1)});
        r.code(kBase + at, {
                               sd(6, 11, 8),                             // sd x6, 8(x11)
                               bne(28, 0, -static_cast<int32_t>(at + 4)),  // bne x28, x0, loop
                           });
        r.enter_sv39(kRoot);
    };
    expect_engines_agree(program, 2000, "a store after a load", [](EngineRig& r) {
        EXPECT_EQ(r.hart.s.mcause, csr::EXC_STORE_PAGE_FAULT);
        EXPECT_EQ(r.hart.s.mtval, 0x1018u);
        EXPECT_EQ(r.hart.s.x[28], 2u);  // in the eighth iteration
        EXPECT_EQ(r.peek64(kFrame2 + 0x18), 0x1010u);  // the iterations before wrote page 2
        EXPECT_GE(r.jit->stats().memo_accesses, 2u);
    });
}

// Between two memo loads: a misaligned load off another register (its slow path, a helper
// call, after which the memos still hold) and an instruction the interpreter's semantics run
// (after which they are forgotten).
TEST(PageMemo, SurvivesSlowPathsAndFallbacksInBetween) {
    auto program = [](EngineRig& r) {
        map_pages(r);
        r.hart.s.x[10] = 0x2100;
        r.hart.s.x[12] = 0x1ff8;
        r.hart.s.x[28] = 3;
        r.code(kBase, {
                          ld(6, 10, 0),                         // loop: ld x6, 0(x10)
                          addi(10, 10, 8),                      //       addi x10, x10, 8
                          ld(5, 12, 4),                         //       ld x5, 4(x12): slow
                          ld(7, 10, 0),                         //       ld x7, 0(x10)
                          add(9, 9, 7),                         //       add x9, x9, x7
                          enc_i(csr::SSCRATCH, 0, 2, 5, 0x73),  //       csrr x5, sscratch
                          ld(7, 10, 8),                         //       ld x7, 8(x10)
                          add(9, 9, 7),                         //       add x9, x9, x7
                          addi(28, 28, -1),                     //       addi x28, x28, -1
                          bne(28, 0, -36),                      //       bne x28, x0, loop
                          kPark,
                      });
        r.enter_sv39(kRoot);
    };
    expect_engines_agree(program, 200, "a slow path and a fallback between memo loads", [](EngineRig& r) {
        EXPECT_EQ(r.hart.s.x[9], 0x2108u + 0x2110 + 0x2118 + 0x2110 + 0x2118 + 0x2120);
        EXPECT_GE(r.jit->stats().memo_accesses, 3u);  // no group: x10 is written between
    });
}

// An access group off another base register (rdi holds its page's addend) between two memo
// loads.
TEST(PageMemo, KeptAcrossAGroupOffAnotherBase) {
    auto program = [](EngineRig& r) {
        map_pages(r);
        r.hart.s.x[10] = 0x1100;
        r.hart.s.x[12] = 0x2100;
        r.hart.s.x[28] = 3;
        r.code(kBase, {
                          ld(6, 10, 0),      // loop: ld x6, 0(x10)
                          addi(10, 10, 8),   //       addi x10, x10, 8
                          ld(13, 12, 0),     //       ld x13, 0(x12)  (a group of two)
                          ld(14, 12, 8),     //       ld x14, 8(x12)
                          ld(7, 10, 0),      //       ld x7, 0(x10)
                          add(9, 9, 7),      //       add x9, x9, x7
                          add(9, 9, 14),     //       add x9, x9, x14
                          addi(28, 28, -1),  //       addi x28, x28, -1
                          bne(28, 0, -32),   //       bne x28, x0, loop
                          kPark,
                      });
        r.enter_sv39(kRoot);
    };
    expect_engines_agree(program, 200, "a group between memo loads", [](EngineRig& r) {
        EXPECT_EQ(r.hart.s.x[9], 0x1108u + 0x1110 + 0x1118 + 3 * 0x2108);
        EXPECT_GE(r.jit->stats().shared_probes, 2u);
        EXPECT_GE(r.jit->stats().memo_accesses, 2u);
    });
}

// Slices of a few instructions: the loop's translation is entered afresh through the
// trampoline again and again, with the frame left over from the slice before, and must not
// take that for a memo.
TEST(PageMemo, ForgottenWhenTheTrampolineIsEntered) {
    auto program = [](EngineRig& r) {
        map_pages(r);
        r.hart.s.x[10] = 0x1ff0;
        r.hart.s.x[28] = 6;
        r.code(kBase, {
                          ld(6, 10, 0),      // loop: ld x6, 0(x10)
                          add(7, 7, 6),      //       add x7, x7, x6
                          addi(10, 10, 8),   //       addi x10, x10, 8
                          addi(28, 28, -1),  //       addi x28, x28, -1
                          bne(28, 0, -16),   //       bne x28, x0, loop
                          kPark,
                      });
        r.enter_sv39(kRoot);
    };
    expect_engines_agree_by_slices(program, 3, 20, [](EngineRig& b) {
        EXPECT_EQ(b.hart.s.x[7], 0x1ff0u + 0x1ff8 + 0x2000 + 0x2008 + 0x2010 + 0x2018);
    });
}

// A loop of two blocks that keeps eleven registers changing (more than the register cache
// holds) and loads and stores through page memos, run in slices that end at every point of
// it: each slice must stop exactly where the interpreter's does, at the same pc, with the
// same registers and memory.
TEST(PageMemo, SlicesEndAnywhereInALoopWithMoreRegistersThanTheCache) {
    auto program = [](EngineRig& r) {
        map_pages(r);
        r.hart.s.x[10] = 0x1f00;
        r.hart.s.x[11] = 0x1e00;
        r.hart.s.x[28] = 40;
        r.code(kBase, {
                          ld(6, 10, 0),      // loop: ld x6, 0(x10)
                          add(7, 7, 6),      //       add x7, x7, x6
                          addi(12, 12, 3),   //       addi x12, x12, 3
                          add(13, 13, 12),   //       add x13, x13, x12
                          add(14, 14, 13),   //       add x14, x14, x13
                          add(15, 15, 14),   //       add x15, x15, x14
                          bne(6, 0, 8),      //       bne x6, x0, next (always)
                          kPark,
                          add(16, 16, 15),   // next: add x16, x16, x15
                          add(17, 17, 7),    //       add x17, x17, x7
                          sd(17, 11, 0),     //       sd x17, 0(x11)
                          addi(10, 10, 8),   //       addi x10, x10, 8
                          addi(11, 11, 8),   //       addi x11, x11, 8
                          addi(28, 28, -1),  //       addi x28, x28, -1
                          bne(28, 0, -56),   //       bne x28, x0, loop
                          kPark,
                      });
        r.enter_sv39(kRoot);
    };
    expect_engines_agree_by_slices(program, 7, 90, [](EngineRig& r) {
        EXPECT_EQ(r.hart.s.x[28], 0u);
        EXPECT_GE(r.jit->stats().memo_accesses, 2u);
    });
}

// A load goes straight into its destination's host register when that register is cached: a
// load carried out by the slow path (misaligned, not in an access group: x10 is written
// between) must put the helper's value there, and a load that faults (the loop walks off
// page 3 into unmapped page 4) must leave the old value.
TEST(PageMemo, LoadsIntoCachedRegistersKeepTheOldValueOnAFault) {
    auto program = [](EngineRig& r) {
        map_pages(r);
        r.poke64(kRoot + 0x2000 + 0xff8, 0x1234);  // VA 0x3ff8 (an invalid PTE: V clear)
        r.hart.s.x[10] = 0x3fe8;
        r.hart.s.mtvec = kBase + 0x400;
        r.code(kBase, {
                          ld(6, 10, 0),         // loop: ld x6, 0(x10): faults at 0x4000
                          add(7, 7, 6),         //       add x7, x7, x6
                          addi(10, 10, 8),      //       addi x10, x10, 8
                          ld(5, 10, -13),       //       ld x5, -13(x10): misaligned
                          add(7, 7, 5),         //       add x7, x7, x5
                          enc_b(-20, 0, 0, 0),  //       beq x0, x0, loop
                      });
        r.code(kBase + 0x400, {kPark});
        r.enter_sv39(kRoot);
    };
    expect_engines_agree(program, 200, "loads into cached registers", [](EngineRig& r) {
        EXPECT_EQ(r.hart.s.mcause, csr::EXC_LOAD_PAGE_FAULT);
        EXPECT_EQ(r.hart.s.mtval, 0x4000u);
        EXPECT_EQ(r.hart.s.x[6], 0x1234u);          // from 0x3ff8, before the fault
        EXPECT_EQ(r.hart.s.x[5], 0x1234ull << 40);  // from 0x3ff3
        EXPECT_EQ(r.hart.s.x[7], 0x1234u + (0x1234ull << 40));
    });
}

// A partition's shape: two loops walk one base register (x10) from either end of an array
// that spans pages 1 and 2, taking turns, so two accesses off one register alternate between
// two pages; each memo must hold its own page and addend (one shared per register would send
// one loop's loads to the other's frame).
TEST(PageMemo, EachAccessKeepsItsOwnPage) {
    auto program = [](EngineRig& r) {
        map_pages(r);
        r.hart.s.x[11] = 0x1fe0;  // the low end, walking up
        r.hart.s.x[12] = 0x2020;  // the high end, walking down
        r.hart.s.x[28] = 6;
        r.code(kBase, {
                          addi(10, 11, 0),   // loop: mv x10, x11
                          ld(6, 10, 0),      //       ld x6, 0(x10)
                          add(7, 7, 6),      //       add x7, x7, x6
                          addi(11, 11, 8),   //       addi x11, x11, 8
                          addi(10, 12, 0),   //       mv x10, x12
                          ld(6, 10, 0),      //       ld x6, 0(x10)
                          add(9, 9, 6),      //       add x9, x9, x6
                          addi(12, 12, -8),  //       addi x12, x12, -8
                          addi(28, 28, -1),  //       addi x28, x28, -1
                          bne(28, 0, -36),   //       bne x28, x0, loop
                          kPark,
                      });
        r.enter_sv39(kRoot);
    };
    expect_engines_agree(program, 400, "two loads off one register in two pages", [](EngineRig& r) {
        // Each load reads its own VA.
        EXPECT_EQ(r.hart.s.x[7], 0x1fe0u + 0x1fe8 + 0x1ff0 + 0x1ff8 + 0x2000 + 0x2008);
        EXPECT_EQ(r.hart.s.x[9], 0x2020u + 0x2018 + 0x2010 + 0x2008 + 0x2000 + 0x1ff8);
        EXPECT_GE(r.jit->stats().memo_accesses, 2u);
    });
}

// An address computed from a value the loop loaded (here an offset read from a table) lands
// on another page nearly every time in real programs (tree and list nodes, hash chains), so
// its access probes inline instead of keeping a memo that would miss (chased.hpp); the table
// walk keeps its memo. Here the chased loads alternate between pages 1 and 2.
TEST(PageMemo, NoneForAnAddressComputedFromALoadedValue) {
    auto program = [](EngineRig& r) {
        map_pages(r);
        for (uint64_t i = 0; i < 8; ++i) r.poke64(kFrame3 + 8 * i, (i % 2) * 0x1000 + 8 * i);  // the offsets
        r.hart.s.x[10] = 0x1000;
        r.hart.s.x[12] = 0x4000;
        r.hart.s.x[28] = 8;
        r.code(kBase, {
                          ld(13, 12, 0),     // loop: ld x13, 0(x12)   the table: a memo
                          add(14, 10, 13),   //       add x14, x10, x13
                          ld(6, 14, 0),      //       ld x6, 0(x14)    chased: probes inline
                          add(7, 7, 6),      //       add x7, x7, x6
                          addi(12, 12, 8),   //       addi x12, x12, 8
                          addi(28, 28, -1),  //       addi x28, x28, -1
                          bne(28, 0, -24),   //       bne x28, x0, loop
                          kPark,
                      });
        r.map_page(kRoot, 4, kFrame3);  // VA page 4: the table
        r.enter_sv39(kRoot);
    };
    expect_engines_agree(program, 400, "loads off a loaded offset", [](EngineRig& r) {
        uint64_t sum = 0;
        for (uint64_t i = 0; i < 8; ++i) sum += 0x1000 + (i % 2) * 0x1000 + 8 * i;  // each VA reads itself
        EXPECT_EQ(r.hart.s.x[7], sum);
        EXPECT_EQ(r.jit->stats().memo_accesses, 1u);
    });
}

// Two loops of one block in one region (an outer loop around them), each keeping its memo's
// addend in rsi while it loops: both walk from page 1 into page 2, so each pinned memo moves
// to page 2's frame (through the TLB miss's slow path, then the probe that takes the memo over)
// and rsi must follow it.
TEST(PageMemo, PinnedInEachLoopOfARegionFollowsItIntoTheNextPage) {
    auto program = [](EngineRig& r) {
        map_pages(r);
        r.hart.s.x[10] = 0x1f00;
        r.hart.s.x[11] = 0x1f80;
        r.hart.s.x[28] = 40;
        r.code(kBase, {
                          addi(12, 0, 4),     // outer: x12 = 4
                          ld(6, 10, 0),       // first: ld x6, 0(x10)
                          add(7, 7, 6),       //        add x7, x7, x6
                          addi(10, 10, 8),    //        addi x10, x10, 8
                          addi(12, 12, -1),   //        addi x12, x12, -1
                          bne(12, 0, -16),    //        bne x12, x0, first
                          addi(13, 0, 4),     //        x13 = 4
                          lw(5, 11, 0),       // second: lw x5, 0(x11)
                          add(7, 7, 5),       //         add x7, x7, x5
                          addi(11, 11, 4),    //         addi x11, x11, 4
                          addi(13, 13, -1),   //         addi x13, x13, -1
                          bne(13, 0, -16),    //         bne x13, x0, second
                          addi(28, 28, -1),   //         addi x28, x28, -1
                          bne(28, 0, -52),    //         bne x28, x0, outer
                          kPark,
                      });
        r.enter_sv39(kRoot);
    };
    jit::JitConfig cfg = EngineRig::eager();
    cfg.translate_after = 2;  // the inner loops have run once when the outer loop's head is translated
    expect_engines_agree(program, 2000, "two pinned loops across a page end", [](EngineRig& r) {
        EXPECT_EQ(r.hart.s.x[10], 0x1f00u + 40 * 4 * 8);
        EXPECT_EQ(r.hart.s.x[11], 0x1f80u + 40 * 4 * 4);
        EXPECT_GE(r.jit->stats().regions, 1u);
        EXPECT_GE(r.jit->stats().pinned_memos, 2u);
    }, cfg);
}

// The Stack tests' caller (VA 0): x5 = 100, a callee at VA 0x100 called with sp at `sp` (in
// page 1), then twice with sp 0x800 higher (in page 2), whose frames are far apart.
constexpr uint32_t kRa = 1, kSp = 2;
void call_with_stack_in_two_pages(EngineRig& r, uint64_t sp, std::initializer_list<uint32_t> callee) {
    map_pages(r);
    r.hart.s.x[kSp] = sp;
    r.hart.s.x[5] = 100;
    r.code(kBase, {
                      enc_j(0x100, kRa),       // jal ra, callee
                      addi(kSp, kSp, 0x400),   // sp += 0x800 in two steps
                      addi(kSp, kSp, 0x400),
                      enc_j(0x100 - 12, kRa),  // jal ra, callee
                      enc_j(0x100 - 16, kRa),  // jal ra, callee
                      kPark,
                  });
    r.code(kBase + 0x100, callee);
    r.enter_sv39(kRoot);
}

// A function stores x5 and reloads it off sp, one access per block (so no access group takes
// them): each call's accesses must reach its own page's frame.
//   f: sd x5, 0(sp) ; addi x5, x5, 1 ; beq x0, x0, +4
//      ld x6, 0(sp) ; add x7, x7, x6 ; ret
TEST(Stack, FollowsSpIntoAnotherPagesFrame) {
    auto program = [](EngineRig& r) {
        call_with_stack_in_two_pages(
            r, 0x1ff0, {sd(5, kSp, 0), addi(5, 5, 1), enc_b(4, 0, 0, 0), ld(6, kSp, 0), add(7, 7, 6),
                        enc_i(0, kRa, 0, 0, 0x67)});
    };
    expect_engines_agree(program, 200, "a stack in two pages", [](EngineRig& r) {
        EXPECT_EQ(r.hart.s.x[7], 100u + 101 + 102);
        EXPECT_EQ(r.peek64(kFrame1 + 0xff0), 100u);
        EXPECT_EQ(r.peek64(kFrame2 + 0x7f0), 102u);
        EXPECT_EQ(r.peek64(kFrame1 + 0x17f0), 0xdeadu);  // page 1's frame's neighbour untouched
    });
}

// The same with access groups off sp (a prologue's stores, an epilogue's loads: one probe per
// group):
//   g: sd x5, 0(sp) ; sd x5, 8(sp) ; addi x5, x5, 1 ; beq x0, x0, +4
//      ld x6, 0(sp) ; ld x12, 8(sp) ; add x7, x7, x6 ; add x7, x7, x12 ; ret
TEST(Stack, GroupsFollowSpIntoAnotherPagesFrame) {
    auto program = [](EngineRig& r) {
        call_with_stack_in_two_pages(r, 0x1fe0,
                                     {sd(5, kSp, 0), sd(5, kSp, 8), addi(5, 5, 1), enc_b(4, 0, 0, 0), ld(6, kSp, 0),
                                      ld(12, kSp, 8), add(7, 7, 6), add(7, 7, 12), enc_i(0, kRa, 0, 0, 0x67)});
    };
    expect_engines_agree(program, 200, "groups on a stack in two pages", [](EngineRig& r) {
        EXPECT_EQ(r.hart.s.x[7], 2 * (100u + 101 + 102));
        EXPECT_EQ(r.peek64(kFrame1 + 0xfe0), 100u);
        EXPECT_EQ(r.peek64(kFrame1 + 0xfe8), 100u);
        EXPECT_EQ(r.peek64(kFrame2 + 0x7e0), 102u);
        EXPECT_EQ(r.peek64(kFrame2 + 0x7e8), 102u);
        EXPECT_EQ(r.peek64(kFrame1 + 0x17e0), 0xdeadu);  // page 1's frame's neighbour untouched
        EXPECT_GE(r.jit->stats().shared_probes, 2u);
    });
}

// A caller's frame at the bottom of page 2 and its callee's at the top of page 1: the caller
// stores x5 and reloads it around each call, the callee stores and reloads x5 + 1000 in its own
// frame, turn after turn.
//   0: sd x5, 0(sp) ; beq +4 ; jal ra, f ; ld x6, 0(sp) ; add x7, x7, x6 ; addi x5, x5, 1
//  24: addi x28, x28, -1 ; bne x28, x0, 0 ; park
//   f: addi sp, sp, -16 ; addi x12, x5, 1000 ; sd x12, 8(sp) ; beq +4 ; ld x13, 8(sp)
//      add x7, x7, x13 ; addi sp, sp, 16 ; ret
TEST(Stack, CallerAndCalleeFramesOnBothSidesOfAPageEnd) {
    auto program = [](EngineRig& r) {
        map_pages(r);
        r.hart.s.x[kSp] = 0x2000;
        r.hart.s.x[5] = 1;
        r.hart.s.x[28] = 10;
        r.code(kBase, {sd(5, kSp, 0), enc_b(4, 0, 0, 0), enc_j(0x100 - 8, kRa), ld(6, kSp, 0), add(7, 7, 6),
                       addi(5, 5, 1), addi(28, 28, -1), bne(28, 0, -28), kPark});
        r.code(kBase + 0x100, {addi(kSp, kSp, -16), addi(12, 5, 1000), sd(12, kSp, 8), enc_b(4, 0, 0, 0),
                               ld(13, kSp, 8), add(7, 7, 13), addi(kSp, kSp, 16), enc_i(0, kRa, 0, 0, 0x67)});
        r.enter_sv39(kRoot);
    };
    expect_engines_agree(program, 2000, "frames on both sides of a page end", [](EngineRig& r) {
        EXPECT_EQ(r.hart.s.x[7], 55u + 10 * 1000 + 55);  // the caller's x5s, the callee's x5 + 1000s
        EXPECT_EQ(r.peek64(kFrame2), 10u);
        EXPECT_EQ(r.peek64(kFrame1 + 0xff8), 1010u);
    });
}

// Code run from the stack (as GCC's trampolines for nested functions are): stored off sp, run,
// stored again and run again. Running it makes the page code, which no write entry (nor memo)
// may cover from then on, or the second run would find the first code.
//   0: sw x8, 0(sp) ; beq x0, x0, +4       (x8: addi x10, x0, 1)
//   8: sw x9, 4(sp) ; beq x0, x0, +4       (x9: ret)
//  16: fence.i ; jalr ra, 0(sp)
//  24: sw x11, 0(sp) ; beq x0, x0, +4      (x11: addi x10, x0, 2)
//  32: fence.i ; jalr ra, 0(sp)
//  40: park
TEST(Stack, CodeStoredOnTheStackRunsAsStoredEachTime) {
    constexpr uint32_t kFenceI = 0x0000100f;
    auto program = [](EngineRig& r) {
        r.hart.s.x[kSp] = kBase + 0x8000;
        r.hart.s.x[8] = addi(10, 0, 1);
        r.hart.s.x[9] = enc_i(0, kRa, 0, 0, 0x67);
        r.hart.s.x[11] = addi(10, 0, 2);
        r.code(kBase, {sw(8, kSp, 0), enc_b(4, 0, 0, 0), sw(9, kSp, 4), enc_b(4, 0, 0, 0), kFenceI,
                       enc_i(0, kSp, 0, kRa, 0x67), sw(11, kSp, 0), enc_b(4, 0, 0, 0), kFenceI,
                       enc_i(0, kSp, 0, kRa, 0x67), kPark});
    };
    expect_engines_agree(program, 100, "code on the stack", [](EngineRig& r) {
        EXPECT_EQ(r.hart.s.x[10], 2u);
        EXPECT_EQ(r.hart.s.pc, kBase + 40);
    });
}

}  // namespace
}  // namespace trapeze::rv64::test
