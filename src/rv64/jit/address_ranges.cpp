#include "rv64/jit/address_ranges.hpp"

#include <algorithm>
#include <array>

#include "rv64/isa/op.hpp"

namespace trapeze::rv64::jit {

namespace {

// What the block's own instructions say about a register's value at a point: nothing; that
// it lies in [lo, hi] (signed); or that it is x[base] + something in [lo, hi], x[base] being
// the base's value now (a write to the base forgets it). Bounds stay within ±kLimit, far
// from overflow, and larger than any group's span (1 KiB) needs.
struct Known {
    enum class Kind : uint8_t { Nothing, Range, Offset };
    Kind kind = Kind::Nothing;
    unsigned base = 0;
    int64_t lo = 0;
    int64_t hi = 0;
};

constexpr int64_t kLimit = int64_t{1} << 20;

Known nothing() { return {}; }

Known range(int64_t lo, int64_t hi) {
    if (lo < -kLimit || hi > kLimit) return nothing();
    return {Known::Kind::Range, 0, lo, hi};
}

Known offset(unsigned base, int64_t lo, int64_t hi) {
    if (lo < -kLimit || hi > kLimit) return nothing();
    return {Known::Kind::Offset, base, lo, hi};
}

bool nonnegative(const Known& k) { return k.kind == Known::Kind::Range && k.lo >= 0; }

class Facts {
public:
    // The value of x[r] as a Known: x0 is 0, and a register nothing is known of is itself a
    // base, x[r] + [0, 0].
    Known value(unsigned r) const {
        if (r == 0) return range(0, 0);
        if (m_x[r].kind == Known::Kind::Nothing) return offset(r, 0, 0);
        return m_x[r];
    }

    // The address range of an access of `size` bytes at rs1 + imm.
    AccessRange access(unsigned rs1, int64_t imm, unsigned size) const {
        const Known a = value(rs1);
        if (a.kind != Known::Kind::Offset) return {rs1, imm, imm + size};  // an absolute address
        return {a.base, a.lo + imm, a.hi + imm + size};
    }

    // After instruction d.
    void step(const DecodedInsn& d) {
        if (d.op >= op_table().size()) {
            m_x = {};  // not an encoding (a crossing instruction): it may write any register
            return;
        }
        if (op_table()[d.op].dest != Dest::X || d.rd >= 32) return;
        Known k = result(d);
        for (Known& other : m_x)
            if (other.kind == Known::Kind::Offset && other.base == d.rd) other = nothing();
        if (k.kind == Known::Kind::Offset && k.base == d.rd) k = nothing();  // off the old value
        m_x[d.rd] = k;
    }

private:
    // a + b, where at most one of them is an address.
    static Known sum(const Known& a, const Known& b) {
        if (a.kind == Known::Kind::Range && b.kind == Known::Kind::Range) return range(a.lo + b.lo, a.hi + b.hi);
        if (a.kind == Known::Kind::Range && b.kind == Known::Kind::Offset) return offset(b.base, a.lo + b.lo, a.hi + b.hi);
        if (a.kind == Known::Kind::Offset && b.kind == Known::Kind::Range) return offset(a.base, a.lo + b.lo, a.hi + b.hi);
        return nothing();
    }

    // a << k for a non-negative range a.
    static Known shifted(const Known& a, int64_t k) {
        if (!nonnegative(a) || k < 0 || k > 20 || a.hi > (kLimit >> k)) return nothing();
        return range(a.lo << k, a.hi << k);
    }

    Known result(const DecodedInsn& d) const {
        const Known a = value(d.rs1);
        const Known b = value(d.rs2);
        const int64_t imm = d.imm;
        switch (static_cast<Op>(d.op)) {
            case Op::addi: return sum(a, range(imm, imm));
            case Op::addiw:
                // Equal to addi while the sum stays a small signed 32-bit value.
                return a.kind == Known::Kind::Range ? range(a.lo + imm, a.hi + imm) : nothing();
            case Op::add: return sum(a, b);
            case Op::sub:
                return b.kind == Known::Kind::Range ? sum(a, range(-b.hi, -b.lo)) : nothing();
            case Op::andi:
                if (imm >= 0) return range(0, nonnegative(a) ? std::min(a.hi, imm) : imm);
                return nonnegative(a) ? range(0, a.hi) : nothing();  // clearing bits of a
            case Op::and_:
                if (nonnegative(a) && nonnegative(b)) return range(0, std::min(a.hi, b.hi));
                if (nonnegative(a)) return range(0, a.hi);
                if (nonnegative(b)) return range(0, b.hi);
                return nothing();
            case Op::slli:
            case Op::slliw: return shifted(a, imm);  // within 2^20: no bit reaches bit 31
            case Op::srli:
            case Op::srliw:
                return nonnegative(a) && a.hi < (int64_t{1} << 31) ? range(a.lo >> imm, a.hi >> imm) : nothing();
            case Op::sh1add: return sum(shifted(a, 1), b);
            case Op::sh2add: return sum(shifted(a, 2), b);
            case Op::sh3add: return sum(shifted(a, 3), b);
            case Op::lbu: return range(0, 0xff);
            case Op::lhu:
            case Op::zext_h: return range(0, 0xffff);
            default: return nothing();
        }
    }

    std::array<Known, 32> m_x{};
};

}  // namespace

std::vector<AccessRange> access_ranges(const interp::Block& b, bool through_indices) {
    std::vector<AccessRange> out(b.insns.size());
    Facts facts;
    for (size_t i = 0; i < b.insns.size(); ++i) {
        const DecodedInsn& d = b.insns[i];
        if (const unsigned size = access_size(static_cast<Op>(d.op)); size != 0 && d.rs1 != 0) {
            out[i] = through_indices ? facts.access(d.rs1, d.imm, size)
                                     : AccessRange{d.rs1, d.imm, int64_t{d.imm} + size};
        }
        if (through_indices) facts.step(d);
    }
    return out;
}

}  // namespace trapeze::rv64::jit
