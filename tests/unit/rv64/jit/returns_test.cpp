// Returns (jalr x0, 0(ra)) in translated code: they go through the hart's jump cache, keyed by
// the virtual pc and followed only under the fetch key it was filled under (or after the
// trampoline's TLB recheck), and a dropped continuation resets the slots that led to it
// (ExitSlot). Each test warms the returns up first (their slots lead to translated code), then
// changes what the return address leads to: its code, the address itself, or its
// translation, and expects the return to reach what the interpreter would. A faster way to
// return (a return-address stack, say) must keep these.
#include <cstdint>

#include "engine_rig.hpp"

namespace trapeze::rv64::test {
namespace {

constexpr uint64_t kBase = EngineRig::kBase;
constexpr uint32_t kPark = 0x0000006f;
constexpr uint32_t kFenceI = 0x0000100f;
constexpr uint32_t kRa = 1;

uint32_t addi(uint32_t rd, uint32_t rs1, int32_t imm) { return enc_i(imm, rs1, 0, rd, 0x13); }
uint32_t bne(uint32_t rs1, uint32_t rs2, int32_t off) { return enc_b(off, rs2, rs1, 1); }
uint32_t beq(uint32_t rs1, uint32_t rs2, int32_t off) { return enc_b(off, rs2, rs1, 0); }
uint32_t jal(uint32_t rd, int32_t off) { return enc_j(off, rd); }
uint32_t ret() { return enc_i(0, kRa, 0, 0, 0x67); }  // jalr x0, 0(ra)
uint32_t sw(uint32_t rs2, uint32_t rs1, int32_t imm) { return enc_s(imm, rs2, rs1, 2, 0x23); }
uint32_t sd(uint32_t rs2, uint32_t rs1, int32_t imm) { return enc_s(imm, rs2, rs1, 3, 0x23); }
uint32_t ld(uint32_t rd, uint32_t rs1, int32_t imm) { return enc_i(imm, rs1, 3, rd, 0x03); }
uint32_t csrw(uint32_t csr, uint32_t rs1) { return enc_i(static_cast<int32_t>(csr), rs1, 1, 0, 0x73); }

// Caller at kBase: x11 times, call the callee (in the next page) and count the continuation
// in x10:
//   0: jal ra, 0x1000 - 0    ; the call (its continuation is at 4, in the caller's page)
//   4: addi x10, x10, 1     ; the continuation
//   8: addi x11, x11, -1
//  12: bne x11, x0, 0        ; back to the call
//  16: park
constexpr uint64_t kCall = kBase, kContinuation = kBase + 4, kCallee = kBase + 0x1000;

void caller(EngineRig& r) {
    r.code(kCall, {jal(kRa, 0x1000), addi(10, 10, 1), addi(11, 11, -1), bne(11, 0, -12), kPark});
}

// Runs `turns` calls from the top; the hart parks after them.
void call(EngineRig& r, uint64_t turns) {
    r.hart.s.pc = kCall;
    r.hart.s.x[11] = turns;
    r.run(1000 * turns);
}

// A callee that returns to its caller, turn after turn: the returns stay in translated code
// (the jump cache leads to the continuation's code once the first return filled its slot).
TEST(Returns, ReturnsStayInTranslatedCode) {
    EngineRig r(Engine::Jit);
    caller(r);
    r.code(kCallee, {addi(12, 12, 1), ret()});
    call(r, 10);
    const uint64_t entries = r.jit->dispatches();
    call(r, 1000);
    EXPECT_EQ(r.hart.s.x[10], 1010u);
    EXPECT_EQ(r.hart.s.x[12], 1010u);
    EXPECT_LE(r.jit->dispatches() - entries, 2u);  // the first entry, and none per return
}

// The callee rewrites the continuation (x9 != 0) and returns to it: the slot that led to the
// continuation's old translation must not be followed.
//   0: beq x9, x0, 12 ; 4: sw x7, 0(x8) ; 8: fence.i ; 12: ret
TEST(Returns, ReturnReachesTheContinuationItsCalleeRewrote) {
    EngineRig r(Engine::Jit);
    caller(r);
    r.code(kCallee, {beq(9, 0, 12), sw(7, 8, 0), kFenceI, ret()});
    r.hart.s.x[7] = addi(10, 10, 100);
    r.hart.s.x[8] = kContinuation;
    call(r, 20);
    ASSERT_EQ(r.hart.s.x[10], 20u);
    r.hart.s.x[9] = 1;
    call(r, 1);
    EXPECT_EQ(r.hart.s.x[10], 120u);
}

// The callee changes its return address (x9 != 0: past the continuation's first instruction,
// as longjmp does, a return that does not match its call):
//   0: beq x9, x0, 8 ; 4: addi ra, ra, 4 ; 8: ret
TEST(Returns, ReturnToAnotherAddressReachesIt) {
    EngineRig r(Engine::Jit);
    caller(r);
    r.code(kCallee, {beq(9, 0, 8), addi(kRa, kRa, 4), ret()});
    call(r, 20);
    ASSERT_EQ(r.hart.s.x[10], 20u);
    r.hart.s.x[9] = 1;
    call(r, 1);
    EXPECT_EQ(r.hart.s.x[10], 20u);  // the continuation's increment skipped
    EXPECT_EQ(r.hart.s.pc, kCall + 16);
}

// Two address spaces map the caller's page (VA 0) to different code, the callee's page (VA
// 0x1000) to the same: ASID 1's continuation sets x5 = 1, ASID 2's x5 = 2. The callee switches
// to ASID 2 (x9 != 0: its satp) before it returns, so the return address translates to other
// code than at the call: the slot filled under ASID 1 must not be followed, though the fetch
// TLB holds an entry for the return address under ASID 2 too (the slot's recheck compares the
// host page it leads to).
//   callee: 0: beq x9, x0, 8 ; 4: csrw satp, x9 ; 8: ret
TEST(Returns, ReturnAfterAnAddressSpaceSwitchReachesTheNewMapping) {
    EngineRig r(Engine::Jit);
    constexpr uint64_t kRoot1 = kBase + 0x40000, kRoot2 = kBase + 0x50000;
    constexpr uint64_t kCaller1 = kBase + 0x10000, kCaller2 = kBase + 0x11000, kShared = kBase + 0x12000;
    r.map_page(kRoot1, 0, kCaller1);
    r.map_page(kRoot2, 0, kCaller2);
    for (uint64_t root : {kRoot1, kRoot2}) r.map_page(root, 1, kShared);
    r.code(kCaller1, {jal(kRa, 0x1000), addi(5, 0, 1), kPark});
    r.code(kCaller2, {jal(kRa, 0x1000), addi(5, 0, 2), kPark});
    r.code(kShared, {beq(9, 0, 8), csrw(csr::SATP, 9), ret()});
    r.grant_all_memory();
    auto satp = [](uint64_t asid, uint64_t root) {
        return csr::SATP_MODE_SV39 << 60 | asid << csr::SATP_ASID_SHIFT | root >> 12;
    };
    auto run_from = [&](uint64_t asid, uint64_t root) {
        r.hart.s.priv = Priv::M;
        ASSERT_TRUE(r.hart.csr_write(csr::SATP, satp(asid, root)));
        r.set_priv(Priv::S);
        r.hart.s.pc = 0;
        r.hart.s.x[5] = 0;
        r.run(100);
    };
    // Both address spaces warm (their TLB entries for VA 0 stay: ASIDs are not flushed), the
    // return's slot last filled under ASID 1.
    for (int turn = 0; turn < 20; ++turn) {
        run_from(2, kRoot2);
        ASSERT_EQ(r.hart.s.x[5], 2u);
        run_from(1, kRoot1);
        ASSERT_EQ(r.hart.s.x[5], 1u);
    }
    r.hart.s.x[9] = satp(2, kRoot2);
    run_from(1, kRoot1);
    EXPECT_EQ(r.hart.s.x[5], 2u);
    EXPECT_EQ(r.hart.s.pc, 8u);
}

// Recursion, shallow and deep (deeper than a hardware return-address stack): f(n): n == 0
// returns; else it saves ra, calls f(n - 1), counts x12 and returns.
//   0: beq x11, x0, 32 ; 4: addi sp, sp, -16 ; 8: sd ra, 0(sp) ; 12: addi x11, x11, -1
//  16: jal ra, -16 (f)  ; 20: addi x12, x12, 1 ; 24: ld ra, 0(sp) ; 28: addi sp, sp, 16
//  32: ret
TEST(Returns, RecursionReturnsThroughEveryLevel) {
    constexpr uint64_t kF = kBase + 0x1000, kStackTop = kBase + 0x20000;
    for (const uint64_t depth : {uint64_t{5}, uint64_t{100}}) {
        EngineRig r(Engine::Jit);
        r.code(kBase, {jal(kRa, 0x1000), kPark});
        r.code(kF, {beq(11, 0, 32), addi(2, 2, -16), sd(kRa, 2, 0), addi(11, 11, -1), jal(kRa, -16),
                    addi(12, 12, 1), ld(kRa, 2, 0), addi(2, 2, 16), ret()});
        for (int turn = 0; turn < 3; ++turn) {
            r.hart.s.pc = kBase;
            r.hart.s.x[2] = kStackTop;
            r.hart.s.x[11] = depth;
            r.hart.s.x[12] = 0;
            r.run(100 * depth);
            EXPECT_EQ(r.hart.s.x[12], depth) << "depth " << depth << ", turn " << turn;
            EXPECT_EQ(r.hart.s.x[2], kStackTop);
            EXPECT_EQ(r.hart.s.pc, kBase + 4);
        }
    }
}

}  // namespace
}  // namespace trapeze::rv64::test
