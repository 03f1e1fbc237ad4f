#include <gtest/gtest.h>

#include "rv64/isa/decoder.hpp"

namespace trapeze::rv64 {
namespace {

TEST(Decoder, EveryTableEntryDecodesToItself) {
    for (const OpInfo& info : op_table()) {
        EXPECT_EQ(lookup_op(info.match), info.op) << info.mnemonic;
    }
}

TEST(Decoder, NoTwoEntriesClaimTheSameEncoding) {
    for (const OpInfo& a : op_table()) {
        for (const OpInfo& b : op_table()) {
            if (a.op == b.op) continue;
            // b's match must fail a's mask/match: otherwise one encoding has two meanings.
            EXPECT_NE(b.match & a.mask, a.match) << a.mnemonic << " overlaps " << b.mnemonic;
        }
    }
}

TEST(Decoder, WritesToX0GoToTheSink) {
    const DecodedInsn d = decode(0x00000013);  // addi x0, x0, 0
    EXPECT_EQ(d.rd, 32);
    const DecodedInsn f = decode(0x00007053);  // fadd.s f0, f0, f0, dyn: rd is a float register
    EXPECT_EQ(f.rd, 0);
}

TEST(Decoder, ExtractsSignedImmediatesOfEachFormat) {
    EXPECT_EQ(decode(0xfff00093).imm, -1);          // addi x1, x0, -1
    EXPECT_EQ(decode(0xfe112e23).imm, -4);          // sw x1, -4(x2)
    EXPECT_EQ(decode(0xfe000ee3).imm, -4);          // beq x0, x0, -4
    EXPECT_EQ(decode(0xffdff06f).imm, -4);          // jal x0, -4
    EXPECT_EQ(decode(0x800000b7).imm, INT32_MIN);   // lui x1, 0x80000
}

// Expansions checked against binutils' disassembly of the same parcels.
TEST(Decoder, ExpandsCompressedInstructions) {
    EXPECT_EQ(expand_compressed(0x158e), 0x02359593u);  // c.slli a1, 35
    EXPECT_EQ(expand_compressed(0x05bd), 0x00f58593u);  // c.addi a1, 15
    EXPECT_EQ(expand_compressed(0x3ffd), 0xffff8f9bu);  // c.addiw t6, -1
    EXPECT_EQ(expand_compressed(0x8082), 0x00008067u);  // c.jr ra (ret)
    EXPECT_EQ(expand_compressed(0x9002), 0x00100073u);  // c.ebreak
    EXPECT_EQ(expand_compressed(0x6105), 0x02010113u);  // c.addi16sp sp, 32
    EXPECT_EQ(expand_compressed(0xe406), 0x00113423u);  // c.sdsp ra, 8(sp)
    EXPECT_EQ(expand_compressed(0x60a2), 0x00813083u);  // c.ldsp ra, 8(sp)
    EXPECT_EQ(expand_compressed(0x0800), 0x01010413u);  // c.addi4spn s0, sp, 16
}

TEST(Decoder, RejectsReservedCompressedEncodings) {
    EXPECT_EQ(expand_compressed(0x0000), 0u);  // all-zero parcel is defined illegal
    EXPECT_EQ(expand_compressed(0x6101), 0u);  // c.addi16sp with nzimm = 0
    EXPECT_EQ(expand_compressed(0x8002), 0u);  // c.jr x0
    EXPECT_EQ(decode(0x0000).op, static_cast<uint16_t>(Op::invalid));
}

TEST(Decoder, KeepsTheOriginalParcelForMtval) {
    const DecodedInsn d = decode(0x05bd);
    EXPECT_EQ(d.len, 2);
    EXPECT_EQ(d.raw, 0x05bdu);
}

}  // namespace
}  // namespace trapeze::rv64

namespace trapeze::rv64 {
namespace {

// FENCE pred.succ in imm[7:0] (bits I O R W each), fm in imm[11:8]: unpriv spec §2.7.
constexpr uint32_t fence(uint32_t fm, uint32_t pred, uint32_t succ) { return fm << 28 | pred << 24 | succ << 20 | 0x0f; }
constexpr uint32_t I = 8, O = 4, R = 2, W = 1;

TEST(Decoder, OnlyFencesOrderingAStoreBeforeALoadNeedAHostBarrier) {
    EXPECT_TRUE(fence_orders_store_to_load(decode(fence(0, R | W, R | W))));  // fence rw, rw
    EXPECT_TRUE(fence_orders_store_to_load(decode(fence(0, W, R))));
    EXPECT_TRUE(fence_orders_store_to_load(decode(fence(0, O, I))));          // MMIO write before MMIO read
    EXPECT_FALSE(fence_orders_store_to_load(decode(fence(0, R, R | W))));     // acquire-like
    EXPECT_FALSE(fence_orders_store_to_load(decode(fence(0, R | W, W))));     // release-like
    EXPECT_FALSE(fence_orders_store_to_load(decode(fence(8, R | W, R | W))));  // fence.tso
}

}  // namespace
}  // namespace trapeze::rv64
