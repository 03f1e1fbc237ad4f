// RV64I, M, Zba, Zbb and Zbs semantics (unpriv spec ch. 2, 5, 7; bitmanip spec v1.0).
// x[32] is the sink for rd == x0, so results are written unconditionally.
#include <bit>

#include "rv64/interp/exec.hpp"

namespace trapeze::rv64::interp {

namespace {

inline uint64_t& rd(Hart& h, const DecodedInsn& d) { return h.s.x[d.rd]; }
inline uint64_t rs1(const Hart& h, const DecodedInsn& d) { return h.s.x[d.rs1]; }
inline uint64_t rs2(const Hart& h, const DecodedInsn& d) { return h.s.x[d.rs2]; }
inline int64_t srs1(const Hart& h, const DecodedInsn& d) { return static_cast<int64_t>(h.s.x[d.rs1]); }
inline int64_t srs2(const Hart& h, const DecodedInsn& d) { return static_cast<int64_t>(h.s.x[d.rs2]); }
inline uint64_t imm(const DecodedInsn& d) { return static_cast<uint64_t>(static_cast<int64_t>(d.imm)); }
inline uint64_t sext32(uint64_t v) { return static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(v))); }

template <typename T>
bool do_load(Hart& h, const DecodedInsn& d) {
    T v{};
    if (!h.load<T>(rs1(h, d) + imm(d), v)) return false;
    // Signed types sign-extend, unsigned types zero-extend.
    if constexpr (std::is_signed_v<T>)
        h.s.x[d.rd] = static_cast<uint64_t>(static_cast<int64_t>(v));
    else
        h.s.x[d.rd] = v;
    return true;
}

template <typename T>
bool do_store(Hart& h, const DecodedInsn& d) {
    return h.store<T>(rs1(h, d) + imm(d), static_cast<T>(rs2(h, d)));
}

inline bool branch(Hart& h, const DecodedInsn& d, bool taken) {
    if (!taken) return true;
    h.s.pc += imm(d);
    return false;
}

}  // namespace

bool exec_illegal(Hart& h, const DecodedInsn& d) { return h.raise_illegal(d); }

bool exec_lui(Hart& h, const DecodedInsn& d) { rd(h, d) = imm(d); return true; }
bool exec_auipc(Hart& h, const DecodedInsn& d) { rd(h, d) = h.s.pc + imm(d); return true; }
bool exec_jal(Hart& h, const DecodedInsn& d) {
    rd(h, d) = h.s.pc + d.len;
    h.s.pc += imm(d);
    return false;
}
bool exec_jalr(Hart& h, const DecodedInsn& d) {
    const uint64_t target = (rs1(h, d) + imm(d)) & ~1ull;  // read rs1 before writing rd (rd may equal rs1)
    rd(h, d) = h.s.pc + d.len;
    h.s.pc = target;
    return false;
}
bool exec_beq(Hart& h, const DecodedInsn& d) { return branch(h, d, rs1(h, d) == rs2(h, d)); }
bool exec_bne(Hart& h, const DecodedInsn& d) { return branch(h, d, rs1(h, d) != rs2(h, d)); }
bool exec_blt(Hart& h, const DecodedInsn& d) { return branch(h, d, srs1(h, d) < srs2(h, d)); }
bool exec_bge(Hart& h, const DecodedInsn& d) { return branch(h, d, srs1(h, d) >= srs2(h, d)); }
bool exec_bltu(Hart& h, const DecodedInsn& d) { return branch(h, d, rs1(h, d) < rs2(h, d)); }
bool exec_bgeu(Hart& h, const DecodedInsn& d) { return branch(h, d, rs1(h, d) >= rs2(h, d)); }

bool exec_lb(Hart& h, const DecodedInsn& d) { return do_load<int8_t>(h, d); }
bool exec_lh(Hart& h, const DecodedInsn& d) { return do_load<int16_t>(h, d); }
bool exec_lw(Hart& h, const DecodedInsn& d) { return do_load<int32_t>(h, d); }
bool exec_ld(Hart& h, const DecodedInsn& d) { return do_load<uint64_t>(h, d); }
bool exec_lbu(Hart& h, const DecodedInsn& d) { return do_load<uint8_t>(h, d); }
bool exec_lhu(Hart& h, const DecodedInsn& d) { return do_load<uint16_t>(h, d); }
bool exec_lwu(Hart& h, const DecodedInsn& d) { return do_load<uint32_t>(h, d); }
bool exec_sb(Hart& h, const DecodedInsn& d) { return do_store<uint8_t>(h, d); }
bool exec_sh(Hart& h, const DecodedInsn& d) { return do_store<uint16_t>(h, d); }
bool exec_sw(Hart& h, const DecodedInsn& d) { return do_store<uint32_t>(h, d); }
bool exec_sd(Hart& h, const DecodedInsn& d) { return do_store<uint64_t>(h, d); }

bool exec_addi(Hart& h, const DecodedInsn& d) { rd(h, d) = rs1(h, d) + imm(d); return true; }
bool exec_slti(Hart& h, const DecodedInsn& d) { rd(h, d) = srs1(h, d) < d.imm ? 1 : 0; return true; }
bool exec_sltiu(Hart& h, const DecodedInsn& d) { rd(h, d) = rs1(h, d) < imm(d) ? 1 : 0; return true; }
bool exec_xori(Hart& h, const DecodedInsn& d) { rd(h, d) = rs1(h, d) ^ imm(d); return true; }
bool exec_ori(Hart& h, const DecodedInsn& d) { rd(h, d) = rs1(h, d) | imm(d); return true; }
bool exec_andi(Hart& h, const DecodedInsn& d) { rd(h, d) = rs1(h, d) & imm(d); return true; }
bool exec_slli(Hart& h, const DecodedInsn& d) { rd(h, d) = rs1(h, d) << d.imm; return true; }
bool exec_srli(Hart& h, const DecodedInsn& d) { rd(h, d) = rs1(h, d) >> d.imm; return true; }
bool exec_srai(Hart& h, const DecodedInsn& d) { rd(h, d) = static_cast<uint64_t>(srs1(h, d) >> d.imm); return true; }
bool exec_add(Hart& h, const DecodedInsn& d) { rd(h, d) = rs1(h, d) + rs2(h, d); return true; }
bool exec_sub(Hart& h, const DecodedInsn& d) { rd(h, d) = rs1(h, d) - rs2(h, d); return true; }
bool exec_sll(Hart& h, const DecodedInsn& d) { rd(h, d) = rs1(h, d) << (rs2(h, d) & 63); return true; }
bool exec_slt(Hart& h, const DecodedInsn& d) { rd(h, d) = srs1(h, d) < srs2(h, d) ? 1 : 0; return true; }
bool exec_sltu(Hart& h, const DecodedInsn& d) { rd(h, d) = rs1(h, d) < rs2(h, d) ? 1 : 0; return true; }
bool exec_xor_(Hart& h, const DecodedInsn& d) { rd(h, d) = rs1(h, d) ^ rs2(h, d); return true; }
bool exec_srl(Hart& h, const DecodedInsn& d) { rd(h, d) = rs1(h, d) >> (rs2(h, d) & 63); return true; }
bool exec_sra(Hart& h, const DecodedInsn& d) {
    rd(h, d) = static_cast<uint64_t>(srs1(h, d) >> (rs2(h, d) & 63));
    return true;
}
bool exec_or_(Hart& h, const DecodedInsn& d) { rd(h, d) = rs1(h, d) | rs2(h, d); return true; }
bool exec_and_(Hart& h, const DecodedInsn& d) { rd(h, d) = rs1(h, d) & rs2(h, d); return true; }

// RV64I word operations (unpriv spec §5.2): 32-bit results sign-extended to 64.
bool exec_addiw(Hart& h, const DecodedInsn& d) { rd(h, d) = sext32(rs1(h, d) + imm(d)); return true; }
bool exec_slliw(Hart& h, const DecodedInsn& d) { rd(h, d) = sext32(rs1(h, d) << d.imm); return true; }
bool exec_srliw(Hart& h, const DecodedInsn& d) {
    rd(h, d) = sext32(static_cast<uint32_t>(rs1(h, d)) >> d.imm);
    return true;
}
bool exec_sraiw(Hart& h, const DecodedInsn& d) {
    rd(h, d) = sext32(static_cast<uint32_t>(static_cast<int32_t>(rs1(h, d)) >> d.imm));
    return true;
}
bool exec_addw(Hart& h, const DecodedInsn& d) { rd(h, d) = sext32(rs1(h, d) + rs2(h, d)); return true; }
bool exec_subw(Hart& h, const DecodedInsn& d) { rd(h, d) = sext32(rs1(h, d) - rs2(h, d)); return true; }
bool exec_sllw(Hart& h, const DecodedInsn& d) { rd(h, d) = sext32(rs1(h, d) << (rs2(h, d) & 31)); return true; }
bool exec_srlw(Hart& h, const DecodedInsn& d) {
    rd(h, d) = sext32(static_cast<uint32_t>(rs1(h, d)) >> (rs2(h, d) & 31));
    return true;
}
bool exec_sraw(Hart& h, const DecodedInsn& d) {
    rd(h, d) = sext32(static_cast<uint32_t>(static_cast<int32_t>(rs1(h, d)) >> (rs2(h, d) & 31)));
    return true;
}

// M (unpriv spec ch. 7): division by zero and overflow have defined results, no traps.
bool exec_mul(Hart& h, const DecodedInsn& d) { rd(h, d) = rs1(h, d) * rs2(h, d); return true; }
bool exec_mulh(Hart& h, const DecodedInsn& d) {
    rd(h, d) = static_cast<uint64_t>((static_cast<__int128>(srs1(h, d)) * srs2(h, d)) >> 64);
    return true;
}
bool exec_mulhsu(Hart& h, const DecodedInsn& d) {
    const __int128 p = static_cast<__int128>(srs1(h, d)) * static_cast<__int128>(static_cast<unsigned __int128>(rs2(h, d)));
    rd(h, d) = static_cast<uint64_t>(p >> 64);
    return true;
}
bool exec_mulhu(Hart& h, const DecodedInsn& d) {
    rd(h, d) = static_cast<uint64_t>((static_cast<unsigned __int128>(rs1(h, d)) * rs2(h, d)) >> 64);
    return true;
}
bool exec_div(Hart& h, const DecodedInsn& d) {
    const int64_t a = srs1(h, d), b = srs2(h, d);
    if (b == 0) rd(h, d) = ~0ull;
    else if (a == INT64_MIN && b == -1) rd(h, d) = static_cast<uint64_t>(a);
    else rd(h, d) = static_cast<uint64_t>(a / b);
    return true;
}
bool exec_divu(Hart& h, const DecodedInsn& d) {
    const uint64_t b = rs2(h, d);
    rd(h, d) = b == 0 ? ~0ull : rs1(h, d) / b;
    return true;
}
bool exec_rem(Hart& h, const DecodedInsn& d) {
    const int64_t a = srs1(h, d), b = srs2(h, d);
    if (b == 0) rd(h, d) = static_cast<uint64_t>(a);
    else if (a == INT64_MIN && b == -1) rd(h, d) = 0;
    else rd(h, d) = static_cast<uint64_t>(a % b);
    return true;
}
bool exec_remu(Hart& h, const DecodedInsn& d) {
    const uint64_t b = rs2(h, d);
    rd(h, d) = b == 0 ? rs1(h, d) : rs1(h, d) % b;
    return true;
}
bool exec_mulw(Hart& h, const DecodedInsn& d) { rd(h, d) = sext32(rs1(h, d) * rs2(h, d)); return true; }
bool exec_divw(Hart& h, const DecodedInsn& d) {
    const auto a = static_cast<int32_t>(rs1(h, d)), b = static_cast<int32_t>(rs2(h, d));
    if (b == 0) rd(h, d) = ~0ull;
    else if (a == INT32_MIN && b == -1) rd(h, d) = sext32(static_cast<uint32_t>(a));
    else rd(h, d) = sext32(static_cast<uint32_t>(a / b));
    return true;
}
bool exec_divuw(Hart& h, const DecodedInsn& d) {
    const auto a = static_cast<uint32_t>(rs1(h, d)), b = static_cast<uint32_t>(rs2(h, d));
    rd(h, d) = b == 0 ? ~0ull : sext32(a / b);
    return true;
}
bool exec_remw(Hart& h, const DecodedInsn& d) {
    const auto a = static_cast<int32_t>(rs1(h, d)), b = static_cast<int32_t>(rs2(h, d));
    if (b == 0) rd(h, d) = sext32(static_cast<uint32_t>(a));
    else if (a == INT32_MIN && b == -1) rd(h, d) = 0;
    else rd(h, d) = sext32(static_cast<uint32_t>(a % b));
    return true;
}
bool exec_remuw(Hart& h, const DecodedInsn& d) {
    const auto a = static_cast<uint32_t>(rs1(h, d)), b = static_cast<uint32_t>(rs2(h, d));
    rd(h, d) = sext32(b == 0 ? a : a % b);
    return true;
}

// Zba.
bool exec_sh1add(Hart& h, const DecodedInsn& d) { rd(h, d) = (rs1(h, d) << 1) + rs2(h, d); return true; }
bool exec_sh2add(Hart& h, const DecodedInsn& d) { rd(h, d) = (rs1(h, d) << 2) + rs2(h, d); return true; }
bool exec_sh3add(Hart& h, const DecodedInsn& d) { rd(h, d) = (rs1(h, d) << 3) + rs2(h, d); return true; }
bool exec_add_uw(Hart& h, const DecodedInsn& d) { rd(h, d) = (rs1(h, d) & 0xffffffff) + rs2(h, d); return true; }
bool exec_sh1add_uw(Hart& h, const DecodedInsn& d) { rd(h, d) = ((rs1(h, d) & 0xffffffff) << 1) + rs2(h, d); return true; }
bool exec_sh2add_uw(Hart& h, const DecodedInsn& d) { rd(h, d) = ((rs1(h, d) & 0xffffffff) << 2) + rs2(h, d); return true; }
bool exec_sh3add_uw(Hart& h, const DecodedInsn& d) { rd(h, d) = ((rs1(h, d) & 0xffffffff) << 3) + rs2(h, d); return true; }
bool exec_slli_uw(Hart& h, const DecodedInsn& d) { rd(h, d) = (rs1(h, d) & 0xffffffff) << d.imm; return true; }

// Zbb.
bool exec_andn(Hart& h, const DecodedInsn& d) { rd(h, d) = rs1(h, d) & ~rs2(h, d); return true; }
bool exec_orn(Hart& h, const DecodedInsn& d) { rd(h, d) = rs1(h, d) | ~rs2(h, d); return true; }
bool exec_xnor(Hart& h, const DecodedInsn& d) { rd(h, d) = ~(rs1(h, d) ^ rs2(h, d)); return true; }
bool exec_clz(Hart& h, const DecodedInsn& d) { rd(h, d) = static_cast<uint64_t>(std::countl_zero(rs1(h, d))); return true; }
bool exec_clzw(Hart& h, const DecodedInsn& d) {
    rd(h, d) = static_cast<uint64_t>(std::countl_zero(static_cast<uint32_t>(rs1(h, d))));
    return true;
}
bool exec_ctz(Hart& h, const DecodedInsn& d) { rd(h, d) = static_cast<uint64_t>(std::countr_zero(rs1(h, d))); return true; }
bool exec_ctzw(Hart& h, const DecodedInsn& d) {
    rd(h, d) = static_cast<uint64_t>(std::countr_zero(static_cast<uint32_t>(rs1(h, d))));
    return true;
}
bool exec_cpop(Hart& h, const DecodedInsn& d) { rd(h, d) = static_cast<uint64_t>(std::popcount(rs1(h, d))); return true; }
bool exec_cpopw(Hart& h, const DecodedInsn& d) {
    rd(h, d) = static_cast<uint64_t>(std::popcount(static_cast<uint32_t>(rs1(h, d))));
    return true;
}
bool exec_max(Hart& h, const DecodedInsn& d) { rd(h, d) = static_cast<uint64_t>(std::max(srs1(h, d), srs2(h, d))); return true; }
bool exec_maxu(Hart& h, const DecodedInsn& d) { rd(h, d) = std::max(rs1(h, d), rs2(h, d)); return true; }
bool exec_min(Hart& h, const DecodedInsn& d) { rd(h, d) = static_cast<uint64_t>(std::min(srs1(h, d), srs2(h, d))); return true; }
bool exec_minu(Hart& h, const DecodedInsn& d) { rd(h, d) = std::min(rs1(h, d), rs2(h, d)); return true; }
bool exec_sext_b(Hart& h, const DecodedInsn& d) {
    rd(h, d) = static_cast<uint64_t>(static_cast<int64_t>(static_cast<int8_t>(rs1(h, d))));
    return true;
}
bool exec_sext_h(Hart& h, const DecodedInsn& d) {
    rd(h, d) = static_cast<uint64_t>(static_cast<int64_t>(static_cast<int16_t>(rs1(h, d))));
    return true;
}
bool exec_zext_h(Hart& h, const DecodedInsn& d) { rd(h, d) = rs1(h, d) & 0xffff; return true; }
bool exec_rol(Hart& h, const DecodedInsn& d) { rd(h, d) = std::rotl(rs1(h, d), static_cast<int>(rs2(h, d) & 63)); return true; }
bool exec_rolw(Hart& h, const DecodedInsn& d) {
    rd(h, d) = sext32(std::rotl(static_cast<uint32_t>(rs1(h, d)), static_cast<int>(rs2(h, d) & 31)));
    return true;
}
bool exec_ror(Hart& h, const DecodedInsn& d) { rd(h, d) = std::rotr(rs1(h, d), static_cast<int>(rs2(h, d) & 63)); return true; }
bool exec_rori(Hart& h, const DecodedInsn& d) { rd(h, d) = std::rotr(rs1(h, d), d.imm); return true; }
bool exec_roriw(Hart& h, const DecodedInsn& d) {
    rd(h, d) = sext32(std::rotr(static_cast<uint32_t>(rs1(h, d)), d.imm));
    return true;
}
bool exec_rorw(Hart& h, const DecodedInsn& d) {
    rd(h, d) = sext32(std::rotr(static_cast<uint32_t>(rs1(h, d)), static_cast<int>(rs2(h, d) & 31)));
    return true;
}
bool exec_orc_b(Hart& h, const DecodedInsn& d) {
    const uint64_t v = rs1(h, d);
    uint64_t r = 0;
    for (unsigned i = 0; i < 64; i += 8) {
        if ((v >> i) & 0xff) r |= 0xffull << i;
    }
    rd(h, d) = r;
    return true;
}
bool exec_rev8(Hart& h, const DecodedInsn& d) { rd(h, d) = __builtin_bswap64(rs1(h, d)); return true; }

// Zbs.
bool exec_bclr(Hart& h, const DecodedInsn& d) { rd(h, d) = rs1(h, d) & ~(1ull << (rs2(h, d) & 63)); return true; }
bool exec_bclri(Hart& h, const DecodedInsn& d) { rd(h, d) = rs1(h, d) & ~(1ull << d.imm); return true; }
bool exec_bext(Hart& h, const DecodedInsn& d) { rd(h, d) = (rs1(h, d) >> (rs2(h, d) & 63)) & 1; return true; }
bool exec_bexti(Hart& h, const DecodedInsn& d) { rd(h, d) = (rs1(h, d) >> d.imm) & 1; return true; }
bool exec_binv(Hart& h, const DecodedInsn& d) { rd(h, d) = rs1(h, d) ^ (1ull << (rs2(h, d) & 63)); return true; }
bool exec_binvi(Hart& h, const DecodedInsn& d) { rd(h, d) = rs1(h, d) ^ (1ull << d.imm); return true; }
bool exec_bset(Hart& h, const DecodedInsn& d) { rd(h, d) = rs1(h, d) | (1ull << (rs2(h, d) & 63)); return true; }
bool exec_bseti(Hart& h, const DecodedInsn& d) { rd(h, d) = rs1(h, d) | (1ull << d.imm); return true; }

}  // namespace trapeze::rv64::interp
