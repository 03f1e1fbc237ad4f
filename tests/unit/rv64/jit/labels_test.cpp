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

}  // namespace
}  // namespace trapeze::rv64::jit
