#include "rv64/isa/decoder.hpp"

#include <array>
#include <vector>

#include <fmt/format.h>

#include "base/bits.hpp"
#include "rv64/isa/encoding.hpp"
#include "rv64/isa/lr_sequence.hpp"

namespace trapeze::rv64 {

namespace {

constexpr uint32_t kOpLoad = 0x03, kOpLoadFp = 0x07, kOpImm = 0x13, kOpImm32 = 0x1b, kOpStore = 0x23,
                   kOpStoreFp = 0x27, kOpReg = 0x33, kOpLui = 0x37, kOpReg32 = 0x3b, kOpJalr = 0x67;

uint32_t b(uint16_t c, unsigned hi, unsigned lo) { return static_cast<uint32_t>(bits(c, hi, lo)); }
int32_t imm6(uint16_t c) { return static_cast<int32_t>(sext(b(c, 12, 12) << 5 | b(c, 6, 2), 6)); }
uint32_t rc(uint16_t c, unsigned lo) { return 8 + b(c, lo + 2, lo); }  // rd'/rs1'/rs2' (x8..x15)

uint32_t expand_q0(uint16_t c) {
    const uint32_t rs1 = rc(c, 7), rd = rc(c, 2);
    const auto off_d = static_cast<int32_t>(b(c, 12, 10) << 3 | b(c, 6, 5) << 6);  // C.LD/C.SD/C.FLD/C.FSD
    const auto off_w = static_cast<int32_t>(b(c, 12, 10) << 3 | b(c, 6, 6) << 2 | b(c, 5, 5) << 6);
    switch (b(c, 15, 13)) {
        case 0: {  // C.ADDI4SPN
            const auto imm = static_cast<int32_t>(b(c, 12, 11) << 4 | b(c, 10, 7) << 6 | b(c, 6, 6) << 2 | b(c, 5, 5) << 3);
            return imm == 0 ? 0 : enc_i(imm, 2, 0, rd, kOpImm);
        }
        case 1: return enc_i(off_d, rs1, 3, rd, kOpLoadFp);    // C.FLD
        case 2: return enc_i(off_w, rs1, 2, rd, kOpLoad);      // C.LW
        case 3: return enc_i(off_d, rs1, 3, rd, kOpLoad);      // C.LD
        case 5: return enc_s(off_d, rd, rs1, 3, kOpStoreFp);   // C.FSD
        case 6: return enc_s(off_w, rd, rs1, 2, kOpStore);     // C.SW
        case 7: return enc_s(off_d, rd, rs1, 3, kOpStore);     // C.SD
        default: return 0;
    }
}

uint32_t expand_q1_alu(uint16_t c) {
    const uint32_t rd = rc(c, 7), rs2 = rc(c, 2);
    const uint32_t shamt = b(c, 12, 12) << 5 | b(c, 6, 2);
    switch (b(c, 11, 10)) {
        case 0: return enc_i(static_cast<int32_t>(shamt), rd, 5, rd, kOpImm);           // C.SRLI
        case 1: return enc_i(static_cast<int32_t>(0x400 | shamt), rd, 5, rd, kOpImm);   // C.SRAI
        case 2: return enc_i(imm6(c), rd, 7, rd, kOpImm);                               // C.ANDI
        default: break;
    }
    static constexpr std::array<uint32_t, 4> kF3 = {0, 4, 6, 7};  // SUB XOR OR AND
    const uint32_t f2 = b(c, 6, 5);
    if (b(c, 12, 12) == 0) return enc_r(f2 == 0 ? 0x20 : 0, rs2, rd, kF3[f2], rd, kOpReg);
    if (f2 == 0) return enc_r(0x20, rs2, rd, 0, rd, kOpReg32);  // C.SUBW
    if (f2 == 1) return enc_r(0, rs2, rd, 0, rd, kOpReg32);     // C.ADDW
    return 0;
}

uint32_t expand_q1(uint16_t c) {
    const uint32_t rd = b(c, 11, 7);
    switch (b(c, 15, 13)) {
        case 0: return enc_i(imm6(c), rd, 0, rd, kOpImm);                 // C.ADDI / C.NOP
        case 1: return rd == 0 ? 0 : enc_i(imm6(c), rd, 0, rd, kOpImm32);  // C.ADDIW
        case 2: return enc_i(imm6(c), 0, 0, rd, kOpImm);                  // C.LI
        case 3: {
            if (rd == 2) {  // C.ADDI16SP
                const auto imm = static_cast<int32_t>(sext(b(c, 12, 12) << 9 | b(c, 6, 6) << 4 | b(c, 5, 5) << 6 |
                                                               b(c, 4, 3) << 7 | b(c, 2, 2) << 5,
                                                           10));
                return imm == 0 ? 0 : enc_i(imm, 2, 0, 2, kOpImm);
            }
            const int32_t imm = imm6(c);  // C.LUI: nzimm[17:12]
            return imm == 0 ? 0 : (static_cast<uint32_t>(imm) << 12) | rd << 7 | kOpLui;
        }
        case 4: return expand_q1_alu(c);
        case 5: {  // C.J
            const auto imm = static_cast<int32_t>(sext(b(c, 12, 12) << 11 | b(c, 11, 11) << 4 | b(c, 10, 9) << 8 |
                                                           b(c, 8, 8) << 10 | b(c, 7, 7) << 6 | b(c, 6, 6) << 7 |
                                                           b(c, 5, 3) << 1 | b(c, 2, 2) << 5,
                                                       12));
            return enc_j(imm, 0);
        }
        default: {  // C.BEQZ / C.BNEZ
            const auto imm = static_cast<int32_t>(
                sext(b(c, 12, 12) << 8 | b(c, 11, 10) << 3 | b(c, 6, 5) << 6 | b(c, 4, 3) << 1 | b(c, 2, 2) << 5, 9));
            return enc_b(imm, 0, rc(c, 7), b(c, 15, 13) == 6 ? 0 : 1);
        }
    }
}

uint32_t expand_q2_misc(uint16_t c) {
    const uint32_t rs1 = b(c, 11, 7), rs2 = b(c, 6, 2);
    if (b(c, 12, 12) == 0) {
        if (rs2 == 0) return rs1 == 0 ? 0 : enc_i(0, rs1, 0, 0, kOpJalr);  // C.JR
        return enc_r(0, rs2, 0, 0, rs1, kOpReg);                           // C.MV
    }
    if (rs1 == 0 && rs2 == 0) return 0x00100073;                    // C.EBREAK
    if (rs2 == 0) return enc_i(0, rs1, 0, 1, kOpJalr);              // C.JALR
    return enc_r(0, rs2, rs1, 0, rs1, kOpReg);                      // C.ADD
}

uint32_t expand_q2(uint16_t c) {
    const uint32_t rd = b(c, 11, 7), rs2 = b(c, 6, 2);
    const auto off_ldsp = static_cast<int32_t>(b(c, 12, 12) << 5 | b(c, 6, 5) << 3 | b(c, 4, 2) << 6);
    const auto off_lwsp = static_cast<int32_t>(b(c, 12, 12) << 5 | b(c, 6, 4) << 2 | b(c, 3, 2) << 6);
    const auto off_sdsp = static_cast<int32_t>(b(c, 12, 10) << 3 | b(c, 9, 7) << 6);
    const auto off_swsp = static_cast<int32_t>(b(c, 12, 9) << 2 | b(c, 8, 7) << 6);
    switch (b(c, 15, 13)) {
        case 0: return enc_i(static_cast<int32_t>(b(c, 12, 12) << 5 | rs2), rd, 1, rd, kOpImm);  // C.SLLI
        case 1: return enc_i(off_ldsp, 2, 3, rd, kOpLoadFp);                                      // C.FLDSP
        case 2: return rd == 0 ? 0 : enc_i(off_lwsp, 2, 2, rd, kOpLoad);                          // C.LWSP
        case 3: return rd == 0 ? 0 : enc_i(off_ldsp, 2, 3, rd, kOpLoad);                          // C.LDSP
        case 4: return expand_q2_misc(c);
        case 5: return enc_s(off_sdsp, rs2, 2, 3, kOpStoreFp);  // C.FSDSP
        case 6: return enc_s(off_swsp, rs2, 2, 2, kOpStore);    // C.SWSP
        default: return enc_s(off_sdsp, rs2, 2, 3, kOpStore);   // C.SDSP
    }
}

// Table entries grouped by major opcode, so a lookup scans a handful of lines.
const std::array<std::vector<const OpInfo*>, 128>& opcode_index() {
    static const auto index = [] {
        std::array<std::vector<const OpInfo*>, 128> idx;
        for (const OpInfo& info : op_table()) idx[info.match & 0x7f].push_back(&info);
        return idx;
    }();
    return index;
}

void extract_operands(DecodedInsn& d, uint32_t raw, Format fmt) {
    d.rd = static_cast<uint8_t>(bits(raw, 11, 7));
    d.rs1 = static_cast<uint8_t>(bits(raw, 19, 15));
    d.rs2 = static_cast<uint8_t>(bits(raw, 24, 20));
    d.rs3 = static_cast<uint8_t>(bits(raw, 31, 27));
    d.rm = static_cast<uint8_t>(bits(raw, 14, 12));
    switch (fmt) {
        case Format::I: d.imm = static_cast<int32_t>(sext(raw >> 20, 12)); break;
        case Format::S: d.imm = static_cast<int32_t>(sext(bits(raw, 31, 25) << 5 | bits(raw, 11, 7), 12)); break;
        case Format::B:
            d.imm = static_cast<int32_t>(sext(bit(raw, 31) << 12 | bit(raw, 7) << 11 | bits(raw, 30, 25) << 5 |
                                                  bits(raw, 11, 8) << 1,
                                              13));
            break;
        case Format::U: d.imm = static_cast<int32_t>(raw & 0xfffff000u); break;
        case Format::J:
            d.imm = static_cast<int32_t>(sext(bit(raw, 31) << 20 | bits(raw, 19, 12) << 12 | bit(raw, 20) << 11 |
                                                  bits(raw, 30, 21) << 1,
                                              21));
            break;
        case Format::SH: d.imm = static_cast<int32_t>(bits(raw, 25, 20)); break;
        case Format::CSR: d.imm = static_cast<int32_t>(bits(raw, 31, 20)); break;
        case Format::R:
        case Format::R4:
        case Format::NONE: break;
    }
}

}  // namespace

uint32_t expand_compressed(uint16_t c) {
    switch (c & 3) {
        case 0: return expand_q0(c);
        case 1: return expand_q1(c);
        case 2: return expand_q2(c);
        default: return 0;
    }
}

Op lookup_op(uint32_t raw) {
    for (const OpInfo* info : opcode_index()[raw & 0x7f]) {
        if ((raw & info->mask) == info->match) return info->op;
    }
    return Op::invalid;
}

DecodedInsn decode(uint32_t raw) {
    DecodedInsn d;
    d.raw = raw;
    uint32_t full = raw;
    if ((raw & 3) != 3) {
        d.len = 2;
        d.raw = raw & 0xffff;
        full = expand_compressed(static_cast<uint16_t>(raw));
    }
    const Op op = full == 0 ? Op::invalid : lookup_op(full);
    d.op = static_cast<uint16_t>(op);
    if (op == Op::invalid) return d;
    const OpInfo& info = op_table()[d.op];
    extract_operands(d, full, info.format);
    if (info.dest == Dest::X && d.rd == 0) d.rd = 32;  // writes to x0 land in the sink
    // What follows an LR is not known here: it classifies its sequence when it runs, unless
    // the code cache, which reads its page, decides earlier (lr_sequence.hpp).
    if (op == Op::lr_w || op == Op::lr_d) d.imm = kLrUndecided;
    return d;
}

std::string disassemble(const DecodedInsn& d) {
    const auto op = static_cast<Op>(d.op);
    if (op == Op::invalid) return fmt::format(".insn {:#x}", d.raw);
    if (op == Op::crossing) return fmt::format("(crossing a page end, low half {:#06x})", d.raw);
    const OpInfo& info = op_table()[d.op];
    const unsigned rd = d.rd == 32 ? 0 : d.rd;
    switch (info.format) {
        case Format::R: return fmt::format("{} {}, {}, {}", info.mnemonic, rd, d.rs1, d.rs2);
        case Format::R4: return fmt::format("{} {}, {}, {}, {}", info.mnemonic, rd, d.rs1, d.rs2, d.rs3);
        case Format::I:
        case Format::SH: return fmt::format("{} x{}, x{}, {}", info.mnemonic, rd, d.rs1, d.imm);
        case Format::S: return fmt::format("{} x{}, {}(x{})", info.mnemonic, d.rs2, d.imm, d.rs1);
        case Format::B: return fmt::format("{} x{}, x{}, {}", info.mnemonic, d.rs1, d.rs2, d.imm);
        case Format::U:
        case Format::J: return fmt::format("{} x{}, {:#x}", info.mnemonic, rd, d.imm);
        case Format::CSR: return fmt::format("{} x{}, {:#x}, {}", info.mnemonic, rd, d.imm, d.rs1);
        case Format::NONE: return info.mnemonic;
    }
    return info.mnemonic;
}

}  // namespace trapeze::rv64
