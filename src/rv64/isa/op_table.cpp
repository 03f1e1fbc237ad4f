#include "rv64/isa/op.hpp"

#include <array>

namespace trapeze::rv64 {

namespace {

constexpr std::array kTable = {
#define INSN(name, mnem, mask, match, fmt, dest) OpInfo{Op::name, mnem, mask, match, Format::fmt, Dest::dest},
#include "rv64/isa/insns.inc"
#undef INSN
};

}  // namespace

std::span<const OpInfo> op_table() { return kTable; }

const char* mnemonic(Op op) {
    const auto i = static_cast<size_t>(op);
    return i < kTable.size() ? kTable[i].mnemonic : "unknown";
}

}  // namespace trapeze::rv64
