// jit::Labels stands in for Xbyak's labels in translations: the same program of jumps and
// placements, written once through each, must come out byte for byte the same, and what
// Xbyak refuses (a short jump that does not reach, a label placed twice, one never placed)
// must be refused too.
#include "rv64/jit/labels.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

namespace trapeze::rv64::jit {
namespace {

using Type = Xbyak::CodeGenerator::LabelType;

// One step of a jump program: place label `label`, jump to it (jcc or jmp, of `type`), or emit
// `pad` filler bytes.
struct Step {
    enum Kind { Place, Jump, Pad } kind;
    unsigned label = 0;
    Type type = Type::T_AUTO;
    bool conditional = false;
    unsigned pad = 0;
};

// Runs a program with Xbyak's labels: the reference.
struct XbyakSide : Xbyak::CodeGenerator {
    explicit XbyakSide(const std::vector<Step>& program, unsigned labels) : CodeGenerator(1 << 16) {
        std::vector<Xbyak::Label> l(labels);
        for (const Step& s : program) {
            if (s.kind == Step::Place) L(l[s.label]);
            if (s.kind == Step::Pad)
                for (unsigned i = 0; i < s.pad; ++i) nop();
            if (s.kind == Step::Jump) s.conditional ? jne(l[s.label], s.type) : jmp(l[s.label], s.type);
        }
    }
};

// The same program with jit::Labels, copies of each label taken after its first use (as the
// emitter's cold-code closures take them) used for every later step.
struct OurSide : Xbyak::CodeGenerator {
    explicit OurSide(const std::vector<Step>& program, unsigned labels) : CodeGenerator(1 << 16), m(*this) {
        m.start();
        std::vector<Label> l(labels);
        std::vector<Label> copies(labels);
        std::vector<bool> used(labels, false);
        for (const Step& s : program) {
            const Label& label = used[s.label] ? copies[s.label] : l[s.label];
            if (s.kind == Step::Place) m.place(label);
            if (s.kind == Step::Pad)
                for (unsigned i = 0; i < s.pad; ++i) nop();
            if (s.kind == Step::Jump)
                m.jump(label, s.type,
                       s.conditional ? Labels::Opcodes{0x75, 0x85, 0x0F} : Labels::Opcodes{0xEB, 0xE9, 0});
            if (s.kind != Step::Pad && !used[s.label]) {
                copies[s.label] = l[s.label];
                used[s.label] = true;
            }
        }
    }
    Labels m;
};

std::vector<uint8_t> bytes(const Xbyak::CodeGenerator& c) {
    return {c.getCode(), c.getCode() + c.getSize()};
}

// A random program: each label is placed once, somewhere, and jumped to from before and
// after; forward jumps are near (as the emitter's are) or short over short distances.
std::vector<Step> random_program(std::mt19937& rng, unsigned labels) {
    std::vector<Step> p;
    std::vector<bool> placed(labels, false);
    for (unsigned i = 0; i < 200; ++i) {
        const unsigned label = static_cast<unsigned>(rng() % labels);
        switch (rng() % 4) {
            case 0:
                if (!placed[label]) p.push_back({Step::Place, label});
                placed[label] = true;
                break;
            case 1:
                p.push_back({Step::Pad, 0, Type::T_AUTO, false, static_cast<unsigned>(rng() % 200)});
                break;
            default: {
                const Type type = placed[label] ? (rng() % 2 ? Type::T_NEAR : Type::T_AUTO) : Type::T_NEAR;
                p.push_back({Step::Jump, label, type, rng() % 2 == 0});
            }
        }
    }
    for (unsigned l = 0; l < labels; ++l)
        if (!placed[l]) p.push_back({Step::Place, l});
    return p;
}

class JitLabels : public ::testing::Test {
protected:
    void SetUp() override { Xbyak::ClearError(); }
    void TearDown() override { Xbyak::ClearError(); }
};

TEST_F(JitLabels, EmitWhatXbyaksLabelsEmit) {
    std::mt19937 rng(7);
    for (int round = 0; round < 200; ++round) {
        const unsigned labels = 1 + static_cast<unsigned>(rng() % 12);
        const std::vector<Step> program = random_program(rng, labels);
        const XbyakSide theirs(program, labels);
        ASSERT_EQ(Xbyak::GetError(), 0) << "round " << round;
        const OurSide ours(program, labels);
        ASSERT_EQ(Xbyak::GetError(), 0) << "round " << round;
        EXPECT_TRUE(ours.m.resolved());
        ASSERT_EQ(bytes(ours), bytes(theirs)) << "round " << round;
    }
}

TEST_F(JitLabels, ChooseTheShortFormBackwardOnlyWhereItReaches) {
    // 126 bytes back from a short jump's end is the farthest rel8 reaches (-128 from the end).
    for (unsigned pad : {0u, 125u, 126u, 127u, 300u}) {
        const std::vector<Step> program = {
            {Step::Place, 0}, {Step::Pad, 0, Type::T_AUTO, false, pad}, {Step::Jump, 0, Type::T_AUTO, true}};
        const XbyakSide theirs(program, 1);
        const OurSide ours(program, 1);
        ASSERT_EQ(Xbyak::GetError(), 0);
        EXPECT_EQ(bytes(ours), bytes(theirs)) << pad;
        EXPECT_EQ(ours.getSize(), pad + (pad <= 126 ? 2 : 6)) << pad;
    }
}

TEST_F(JitLabels, RefuseAShortForwardJumpThatDoesNotReach) {
    const std::vector<Step> reaches = {
        {Step::Jump, 0, Type::T_AUTO}, {Step::Pad, 0, Type::T_AUTO, false, 127}, {Step::Place, 0}};
    OurSide ok(reaches, 1);
    EXPECT_EQ(Xbyak::GetError(), 0);
    const std::vector<Step> too_far = {
        {Step::Jump, 0, Type::T_AUTO}, {Step::Pad, 0, Type::T_AUTO, false, 128}, {Step::Place, 0}};
    OurSide far(too_far, 1);
    EXPECT_EQ(Xbyak::GetError(), Xbyak::ERR_LABEL_IS_TOO_FAR);
}

TEST_F(JitLabels, RefuseALabelPlacedTwice) {
    const std::vector<Step> twice = {{Step::Place, 0}, {Step::Pad, 0, Type::T_AUTO, false, 3}, {Step::Place, 0}};
    OurSide ours(twice, 1);
    EXPECT_EQ(Xbyak::GetError(), Xbyak::ERR_LABEL_IS_REDEFINED);
}

TEST_F(JitLabels, KnowWhenAJumpStillWaitsForItsLabel) {
    const std::vector<Step> open = {{Step::Jump, 0, Type::T_NEAR}, {Step::Jump, 1, Type::T_NEAR}, {Step::Place, 1}};
    OurSide ours(open, 2);
    EXPECT_FALSE(ours.m.resolved());
    ours.m.start();  // a new translation forgets it
    EXPECT_TRUE(ours.m.resolved());
}

// A translation placed in two parts (CodeBuffer::place_split): the near jumps from one side of
// the split into the other are listed by their rel32's offset, jumps within one side are not,
// and a jump back across the split takes the near form even where the short one would reach.
TEST_F(JitLabels, ListTheNearJumpsThatCrossTheSplit) {
    Xbyak::CodeGenerator code(1 << 16);
    Labels m(code);
    m.start();
    const Label hot_top, hot_end, cold_top, cold_end;
    m.place(hot_top);
    m.jump(hot_end, Type::T_AUTO, {0xEB, 0xE9, 0});  // short, within the hot side
    code.nop();
    m.place(hot_end);
    m.jump(cold_top, Type::T_NEAR, {0x75, 0x85, 0x0F});  // hot -> cold
    const size_t first = code.getSize() - 4;
    code.int3();
    m.split_here();
    m.place(cold_top);
    m.jump(hot_end, Type::T_AUTO, {0xEB, 0xE9, 0});  // cold -> hot, 3 bytes back: near all the same
    const size_t second = code.getSize() - 4;
    EXPECT_EQ(code.getCode()[second - 1], 0xE9);
    m.jump(cold_end, Type::T_AUTO, {0xEB, 0xE9, 0});  // short, within the cold side
    code.nop();
    m.place(cold_end);
    ASSERT_EQ(Xbyak::GetError(), 0);
    ASSERT_TRUE(m.resolved());
    std::vector<uint32_t> cross;
    ASSERT_TRUE(m.crossing(cross));
    EXPECT_EQ(cross, (std::vector<uint32_t>{static_cast<uint32_t>(first), static_cast<uint32_t>(second)}));
}

// A short jump across the split cannot be placed apart: crossing says so (the translation is
// then placed whole).
TEST_F(JitLabels, RefuseToSplitAcrossAShortJump) {
    Xbyak::CodeGenerator code(1 << 16);
    Labels m(code);
    m.start();
    const Label cold;
    m.jump(cold, Type::T_AUTO, {0xEB, 0xE9, 0});
    m.split_here();
    m.place(cold);
    code.ret();
    std::vector<uint32_t> cross;
    EXPECT_FALSE(m.crossing(cross));
}

// Copies of a label taken before its first use name one place once the label is named (the
// emitter's warm and cold closures both copy a slow path's label).
TEST_F(JitLabels, CopiesOfANamedLabelNameOnePlace) {
    Xbyak::CodeGenerator code(1 << 16);
    Labels m(code);
    m.start();
    const Label unnamed;
    const Label jumps_a = unnamed, places_a = unnamed;
    m.jump(jumps_a, Type::T_NEAR, {0xEB, 0xE9, 0});
    m.place(places_a);
    EXPECT_FALSE(m.resolved());  // two labels, one never placed
    m.start();
    const Label named;
    m.name(named);
    const Label jumps_b = named, places_b = named;
    m.jump(jumps_b, Type::T_NEAR, {0xEB, 0xE9, 0});
    m.place(places_b);
    EXPECT_TRUE(m.resolved());
    EXPECT_EQ(Xbyak::GetError(), 0);
}

}  // namespace
}  // namespace trapeze::rv64::jit
