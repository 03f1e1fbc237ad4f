// Wide translations: code using more guest registers than the register cache's eight host
// registers keeps the guest pc and the budget units left in the trampoline's frame and
// caches ten registers, rbp and r13 among them (Emitter::Impl::m_wide). Every way in must
// store the two and every way out load them back; these programs run under both engines in
// slices short enough to end at every instruction, so each exit of the wide code is taken
// somewhere, and must agree with the interpreter on every register, the pc and the counters.
#include "engine_rig.hpp"
#include "hart_fixture.hpp"

namespace trapeze::rv64::test {
namespace {

constexpr uint64_t kBase = EngineRig::kBase;
constexpr uint64_t kData = kBase + 0x10000;
constexpr uint32_t kPark = 0x0000006f;

uint32_t auipc(uint32_t rd, int32_t imm20) { return static_cast<uint32_t>(imm20) << 12 | rd << 7 | 0x17; }
uint32_t jal(uint32_t rd, int32_t off) { return enc_j(off, rd); }
uint32_t jalr(uint32_t rd, uint32_t rs1, int32_t imm) { return enc_i(imm, rs1, 0, rd, 0x67); }
uint32_t amominu_d(uint32_t rd, uint32_t rs2, uint32_t rs1) { return enc_r(0x18 << 2, rs2, rs1, 3, rd, 0x2f); }

// Functions of wide blocks (each returns through jalr, so no loop region takes it in) called
// from a loop: the first reads the pc (auipc), loads through the slow path (a misaligned lw)
// and ends in a jal that links (the link from the pc in the frame); the second ends in a read
// of minstret, run through the interpreter's semantics after the counters are brought up to
// date from the units left in the frame.
TEST(WideRegion, LoneBlocksWithMoreRegistersThanTheCache) {
    auto program = [](EngineRig& r) {
        r.hart.s.x[10] = kData;
        r.hart.s.x[11] = kData + 0x100;
        r.hart.s.x[28] = 30;
        r.poke64(kData, 0x0123456789abcdefull);
        r.poke64(kData + 8, 0x1122334455667788ull);
        r.code(kBase, {
                          jal(1, 0x40),      // loop: call func1
                          jal(1, 0x7c),      //       call func2
                          addi(28, 28, -1),  //       addi x28, x28, -1
                          bne(28, 0, -12),   //       bne x28, x0, loop
                          kPark,
                      });
        r.code(kBase + 0x40, {
                                 auipc(5, 1),      // func1: auipc x5, 1
                                 add(6, 6, 5),     //        add x6, x6, x5
                                 lw(7, 10, 1),     //        lw x7, 1(x10) (misaligned)
                                 add(12, 12, 7),   //        add x12, x12, x7
                                 add(13, 13, 12),  //        add x13, x13, x12
                                 add(14, 14, 13),  //        add x14, x14, x13
                                 add(15, 15, 14),  //        add x15, x15, x14
                                 add(16, 16, 15),  //        add x16, x16, x15
                                 add(17, 17, 16),  //        add x17, x17, x16
                                 add(18, 18, 17),  //        add x18, x18, x17
                                 sd(18, 11, 0),    //        sd x18, 0(x11)
                                 addi(11, 11, 8),  //        addi x11, x11, 8
                                 jal(9, 4),        //        jal x9, 1f
                                 add(20, 20, 9),   // 1:     add x20, x20, x9
                                 jalr(0, 1, 0),    //        ret
                             });
        r.code(kBase + 0x80, {
                                 add(12, 12, 13),      // func2: add x12, x12, x13
                                 add(13, 13, 14),      //        add x13, x13, x14
                                 add(14, 14, 15),      //        add x14, x14, x15
                                 add(15, 15, 16),      //        add x15, x15, x16
                                 add(16, 16, 17),      //        add x16, x16, x17
                                 add(17, 17, 18),      //        add x17, x17, x18
                                 add(18, 18, 22),      //        add x18, x18, x22
                                 add(22, 22, 23),      //        add x22, x22, x23
                                 addi(23, 23, 7),      //        addi x23, x23, 7
                                 csrrs(21, 0xb02, 0),  //        csrr x21, minstret
                                 add(24, 24, 21),      //        add x24, x24, x21
                                 jalr(0, 1, 0),        //        ret
                             });
    };
    expect_engines_agree_by_slices(program, 5, 200, [](EngineRig& r) {
        EXPECT_EQ(r.hart.s.x[28], 0u);
        EXPECT_EQ(r.hart.s.x[6], 30 * (kBase + 0x40 + 0x1000));
        EXPECT_EQ(r.hart.s.x[20], 30 * (kBase + 0x74));
        EXPECT_EQ(r.hart.s.x[21], 29u * 31 + 2 + 15 + 9);  // 31 per iteration; the csrr reads it before it retires
        EXPECT_GE(r.jit->stats().wide, 2u);
    });
}

// A loop region of two blocks with thirteen registers changing, its head a read of minstret
// and an AMO in its body, both run through the interpreter's semantics (before the call the
// counters are brought up to date from the units left in the frame, and the pc is written
// from it; after it the pc is read back into it), and an auipc.
TEST(WideRegion, ALoopCallsTheInterpreterWithThePcAndBudgetInTheFrame) {
    auto program = [](EngineRig& r) {
        r.hart.s.x[10] = kData;
        r.hart.s.x[28] = 25;
        r.code(kBase, {
                          csrrs(21, 0xb02, 0),    // loop: csrr x21, minstret
                          add(22, 22, 21),        //       add x22, x22, x21
                          ld(6, 10, 0),           //       ld x6, 0(x10)
                          add(7, 7, 6),           //       add x7, x7, x6
                          addi(12, 12, 3),        //       addi x12, x12, 3
                          add(13, 13, 12),        //       add x13, x13, x12
                          amominu_d(19, 12, 10),  //       amominu.d x19, x12, (x10)
                          add(14, 14, 19),        //       add x14, x14, x19
                          auipc(15, 2),           //       auipc x15, 2
                          bne(6, 0, 8),           //       bne x6, x0, next (always)
                          kPark,
                          add(16, 16, 15),        // next: add x16, x16, x15
                          add(17, 17, 14),        //       add x17, x17, x14
                          addi(28, 28, -1),       //       addi x28, x28, -1
                          bne(28, 0, -56),        //       bne x28, x0, loop
                          csrrs(25, 0xb02, 0),    //       csrr x25, minstret
                          kPark,
                      });
        r.poke64(kData, 5);
    };
    expect_engines_agree_by_slices(program, 7, 60, [](EngineRig& r) {
        EXPECT_EQ(r.hart.s.x[28], 0u);
        EXPECT_EQ(r.hart.s.x[25], 25u * 14);  // 14 instructions per iteration
        EXPECT_EQ(r.hart.s.x[22], 14u * (24 * 25 / 2));
        EXPECT_EQ(r.hart.s.x[16], 25 * (kBase + 32 + 0x2000));
        EXPECT_GE(r.jit->stats().wide, 1u);
    });
}

}  // namespace
}  // namespace trapeze::rv64::test
