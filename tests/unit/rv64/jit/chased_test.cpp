// Which registers of a loop region hold values that came from memory (chased.hpp): what
// decides which loads and stores get page memos.
#include "rv64/jit/chased.hpp"

#include <gtest/gtest.h>

#include <deque>
#include <initializer_list>
#include <vector>

#include "hart_fixture.hpp"
#include "rv64/isa/decoder.hpp"

namespace trapeze::rv64::test {
namespace {

using jit::Chased;

constexpr Chased bit(unsigned x) {
    return Chased{1} << x;
}

// Blocks made from raw instructions, at guest-physical addresses of their own.
class Region {
public:
    const interp::Block* block(uint64_t pa, std::initializer_list<uint32_t> raws) {
        std::vector<DecodedInsn>& insns = m_insns.emplace_back();
        for (const uint32_t raw : raws) insns.push_back(decode(raw));
        interp::Block& b = m_blocks.emplace_back();
        b.pa = pa;
        b.insns = insns;
        m_order.push_back(&b);
        return &b;
    }
    std::vector<Chased> entries() const { return jit::chased_at_entry(m_order, jit::written_in(m_order)); }

private:
    std::deque<std::vector<DecodedInsn>> m_insns;
    std::deque<interp::Block> m_blocks;
    std::vector<const interp::Block*> m_order;
};

// The chased registers after raws, in a region that writes `written` (by default every
// register: every load's address moves).
Chased run(std::initializer_list<uint32_t> raws, Chased c = 0, Chased written = ~Chased{0}) {
    for (const uint32_t raw : raws) c = jit::chase(decode(raw), c, written);
    return c;
}

TEST(Chased, LoadsAndWhatIsComputedFromThem) {
    EXPECT_EQ(run({ld(5, 10, 0)}), bit(5));
    EXPECT_EQ(run({lw(5, 10, 0), add(6, 11, 5)}), bit(5) | bit(6));  // from either source
    EXPECT_EQ(run({ld(5, 10, 0), addi(6, 5, 16)}), bit(5) | bit(6));
    EXPECT_EQ(run({lr_d(5, 10), amoadd_w(6, 7, 10)}), bit(5) | bit(6));
    EXPECT_EQ(run({sd(5, 10, 0), sw(6, 10, 8)}), 0u);  // stores write no register
    EXPECT_EQ(run({add(6, 7, 8)}), 0u);
}

// A byte or halfword, or a field masked or shifted out: an index into a table of few pages.
TEST(Chased, NotAValueOfAtMostSixteenBits) {
    constexpr uint32_t kLbu = 0x00004003, kLhu = 0x00005003;  // funct3 and opcode
    EXPECT_EQ(run({kLbu | 5u << 7 | 10u << 15}), 0u);         // lbu x5, 0(x10)
    EXPECT_EQ(run({kLhu | 5u << 7 | 10u << 15, add(6, 11, 5)}), 0u);
    EXPECT_EQ(run({enc_i(0xff, 5, 7, 6, 0x13)}, bit(5)), bit(5));         // andi x6, x5, 255
    EXPECT_EQ(run({enc_i(-8, 5, 7, 6, 0x13)}, bit(5)), bit(5) | bit(6));  // andi x6, x5, -8: an aligned pointer
    EXPECT_EQ(run({enc_i(16, 5, 5, 6, 0x1b)}, bit(5)), bit(5));           // srliw x6, x5, 16
    EXPECT_EQ(run({enc_i(8, 5, 5, 6, 0x1b)}, bit(5)), bit(5) | bit(6));   // srliw x6, x5, 8
}

// A field read again through a pointer the loop never writes: the same value each time.
TEST(Chased, NotALoadFromAnAddressThatDoesNotMove) {
    EXPECT_EQ(run({ld(5, 10, 8), add(6, 5, 7)}, 0, ~bit(10)), 0u);
    EXPECT_EQ(run({ld(5, 10, 8)}, 0, bit(5) | bit(10)), bit(5));
}

TEST(Chased, AnOverwriteOrAConstantStepClearsIt) {
    EXPECT_EQ(run({addi(5, 0, 3)}, bit(5)), 0u);                       // li: a new value
    EXPECT_EQ(run({add(5, 6, 7)}, bit(5)), 0u);                        // computed from unchased sources
    EXPECT_EQ(run({addi(5, 5, 8)}, bit(5)), 0u);                       // a pointer stepped walks on from where it was
    EXPECT_EQ(run({add(5, 5, 6)}, bit(5)), bit(5));                    // an index added to a base is not a step
    EXPECT_EQ(run({add(0, 5, 5)}, bit(5)), bit(5));                    // x0 is never written
    EXPECT_EQ(run({add(6, 0, 0)}, ~Chased{0}), ~Chased{0} & ~bit(6));  // nor chased
}

// LZMA's match finder's shape: a position loaded at the end of the loop body gives the next
// iteration's addresses.
TEST(Chased, AValueLoadedOnEveryBackEdgeIsChasedAtTheHead) {
    Region r;
    r.block(0x1000, {add(14, 19, 13),    // head: add x14, x19, x13   x13 loaded below
                     ld(6, 14, 0),       //       ld x6, 0(x14)
                     lw(13, 14, 4),      //       lw x13, 4(x14)
                     addi(28, 28, -1),   //       addi x28, x28, -1
                     bne(28, 0, -16)});  //      bne x28, x0, head
    const std::vector<Chased> in = r.entries();
    EXPECT_EQ(in[0] & (bit(13) | bit(14)), bit(13) | bit(14));
    EXPECT_EQ(in[0] & (bit(19) | bit(28)), 0u);  // x19 not written in the loop, x28 stepped
}

// A row pointer loaded in the outer loop and stepped through the row by the inner one: on
// the inner loop's back edge it is a stepped pointer, so it is not chased on every path in.
TEST(Chased, APointerLoadedOutsideAnInnerLoopAndSteppedInIt) {
    Region r;
    r.block(0x1000, {ld(10, 11, 0),        // outer: ld x10, 0(x11)     the row
                     addi(11, 11, 8)});    //        addi x11, x11, 8  (falls into inner)
    r.block(0x1008, {ld(6, 10, 0),         // inner: ld x6, 0(x10)
                     add(7, 7, 6),         //        add x7, x7, x6
                     addi(10, 10, 8),      //        addi x10, x10, 8
                     bne(10, 12, -12)});   //      bne x10, x12, inner
    r.block(0x1018, {addi(28, 28, -1),     //        addi x28, x28, -1
                     bne(28, 0, -0x1c)});  //     bne x28, x0, outer
    const std::vector<Chased> in = r.entries();
    EXPECT_EQ(in[1] & bit(10), 0u);
    EXPECT_EQ(in[1] & bit(6), bit(6));  // loaded on both paths in (the outer block does not write it)
    EXPECT_EQ(in[2] & bit(10), 0u);
}

// On one path back to the head the base is loaded, on the other computed from registers the
// loop does not write: not chased where the paths meet.
TEST(Chased, NotChasedWhereOnePathInComputesIt) {
    Region r;
    r.block(0x1000, {ld(6, 14, 0),       // head: ld x6, 0(x14)
                     bne(6, 0, 12)});    //       bne x6, x0, other
    r.block(0x1008, {ld(14, 14, 8),      //       ld x14, 8(x14)
                     bne(28, 0, -12)});  //       bne x28, x0, head  (falls into other)
    r.block(0x1010, {add(14, 16, 17),    // other: add x14, x16, x17
                     bne(28, 0, -20)});  //        bne x28, x0, head
    const std::vector<Chased> in = r.entries();
    EXPECT_EQ(in[0] & bit(14), 0u);
    EXPECT_EQ(in[2] & bit(14), 0u);     // from the head (not chased) and from the load
    EXPECT_EQ(in[0] & bit(6), bit(6));  // loaded at the head, and neither path back writes it
    EXPECT_EQ(in[1] & bit(6), bit(6));
}

}  // namespace
}  // namespace trapeze::rv64::test
