// The JIT keeps Jit::kMaxBlockBytes of its code buffer free before it translates, so every
// translation must fit in that: a block as long as blocks get (CodeCache::kMaxBlockInsns) of
// any one instruction, with registers in every field and the dynamic rounding mode. The
// longest are the instructions run through the interpreter's semantics from cold code (the
// hypervisor's loads and stores: 47 KiB at 128 instructions), FP conversions and SC.
#include "engine_rig.hpp"
#include "hart_fixture.hpp"
#include "rv64/isa/op.hpp"

namespace trapeze::rv64::test {
namespace {

// Register fields rd = x10, rs1 = x11, rs2 = x12, rs3 = x13 and rm = dyn, wherever the
// encoding leaves them free.
constexpr uint32_t kFields = 10u << 7 | 7u << 12 | 11u << 15 | 12u << 20 | 13u << 27;

TEST(JitBounds, AFullBlockOfEveryInstructionFits) {
    for (const OpInfo& info : op_table()) {
        const uint32_t insn = info.match | (kFields & ~info.mask);
        EngineRig r(Engine::Jit);
        for (unsigned i = 0; i < interp::CodeCache::kMaxBlockInsns; ++i) r.poke32(EngineRig::kBase + 4 * i, insn);
        r.poke32(EngineRig::kBase + 4 * interp::CodeCache::kMaxBlockInsns, jal_self());
        r.hart.s.x[11] = EngineRig::kBase + 0x10000;  // loads, stores and AMOs reach RAM
        r.hart.s.mstatus |= csr::MSTATUS_FS;           // and FP is on
        r.run(1);
        const jit::Emitter::Stats s = r.jit->stats();
        EXPECT_GE(s.blocks, 1u) << info.mnemonic;
        EXPECT_LE(s.largest, jit::Jit::kMaxBlockBytes) << info.mnemonic;
    }
}

}  // namespace
}  // namespace trapeze::rv64::test
