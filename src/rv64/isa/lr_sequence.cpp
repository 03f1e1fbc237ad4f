#include "rv64/isa/lr_sequence.hpp"

#include <algorithm>
#include <array>

#include "rv64/isa/decoder.hpp"
#include "rv64/isa/op.hpp"

namespace trapeze::rv64 {

namespace {

// Major opcodes (unpriv spec ch. 34) of instructions that compute without touching memory.
constexpr uint32_t kOpImm = 0x13, kOpImm32 = 0x1b, kOpReg = 0x33, kOpReg32 = 0x3b, kOpLui = 0x37,
                   kOpAuipc = 0x17, kOpFp = 0x53, kOpMadd = 0x43, kOpMsub = 0x47, kOpNmsub = 0x4b,
                   kOpNmadd = 0x4f, kOpBranch = 0x63, kOpJal = 0x6f;

enum class Role : uint8_t { Computes, Jumps, Breaks };

// What d does between an LR and its SC. Loads, stores, AMOs, LR, FENCE, FENCE.I, cbo.*,
// SYSTEM, JALR and calls break the sequence (§8.3); where a jump may go is decided once the SC
// is found (Scanned::jumps_allowed).
Role role_between(const DecodedInsn& d) {
    if (d.op >= op_table().size()) return Role::Breaks;  // illegal or crossing: it traps
    switch (op_table()[d.op].match & 0x7f) {
        case kOpImm: case kOpImm32: case kOpReg: case kOpReg32: case kOpLui: case kOpAuipc:
        case kOpFp: case kOpMadd: case kOpMsub: case kOpNmsub: case kOpNmadd:
            return Role::Computes;
        case kOpBranch: return Role::Jumps;
        case kOpJal: return d.rd == 32 ? Role::Jumps : Role::Breaks;  // rd = x0 is 32; else a call
        default: return Role::Breaks;
    }
}

bool is_sc(const DecodedInsn& d) {
    const auto op = static_cast<Op>(d.op);
    return op == Op::sc_w || op == Op::sc_d;
}

// The instructions between an LR and its SC as scanned: where each starts, and each jump's
// offset and target, in bytes from the LR.
struct Scanned {
    struct Jump {
        int64_t from, to;
    };
    std::array<int64_t, kLrScMaxInsns> starts{};
    std::array<Jump, kLrScMaxInsns> jumps{};
    unsigned insns = 0, jump_count = 0;

    // A jump may leave the sequence: back to the LR or before it (a retry; a failure path
    // never taken), or to the SC or past it (a compare-and-swap's failure path, §8.3 counts
    // such exits). Inside, it must go forward (no loop before the SC, §8.3) to the start of a
    // scanned instruction (not into the middle of one, which would run something else).
    bool jumps_allowed(int64_t sc) const {
        const auto* end = starts.begin() + insns;
        return std::all_of(jumps.begin(), jumps.begin() + jump_count, [&](const Jump& j) {
            const bool leaves = j.to <= 0 || j.to >= sc;
            return leaves || (j.to > j.from && std::find(starts.begin(), end, j.to) != end);
        });
    }
};

}  // namespace

int32_t classify_lr(unsigned lr_len, std::span<const uint16_t> parcels, int32_t beyond) {
    Scanned seen;
    int64_t off = lr_len;
    for (unsigned i = 1; i < kLrScMaxInsns; ++i) {
        const auto p = static_cast<size_t>(off - lr_len) / 2;
        if (p >= parcels.size()) return beyond;
        uint32_t raw = parcels[p];
        if ((raw & 3) == 3) {
            if (p + 1 >= parcels.size()) return beyond;
            raw |= static_cast<uint32_t>(parcels[p + 1]) << 16;
        }
        const DecodedInsn d = decode(raw);
        if (is_sc(d)) return seen.jumps_allowed(off) ? static_cast<int32_t>(off) : kLrUnconstrained;
        const Role role = role_between(d);
        if (role == Role::Breaks) return kLrUnconstrained;
        if (role == Role::Jumps) seen.jumps[seen.jump_count++] = {off, off + d.imm};
        seen.starts[seen.insns++] = off;
        off += d.len;
    }
    return kLrUnconstrained;
}

}  // namespace trapeze::rv64
