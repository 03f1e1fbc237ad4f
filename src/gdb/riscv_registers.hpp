// The registers the gdb stub shows for a RISC-V hart, and the target description that names
// them for gdb (GDB manual, "Target Descriptions" and "RISC-V Features"): the general
// registers and pc (org.gnu.gdb.riscv.cpu), the F/D registers with fflags/frm/fcsr
// (org.gnu.gdb.riscv.fpu), the privilege level (org.gnu.gdb.riscv.virtual) and the CSRs the
// hart implements (org.gnu.gdb.riscv.csr), so `info registers sstatus` and `p $satp` work.
// Register numbers are positions in this table; the `g` packet holds the first 33.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "rv64/hart.hpp"

namespace trapeze::gdb {

// "M", "S" or "U", as thread names and monitor output show a hart's privilege.
const char* priv_name(rv64::Priv p);

struct RiscvRegister {
    enum class Kind : uint8_t { X, Pc, F, Fflags, Frm, Fcsr, Priv, Csr };
    std::string name;
    Kind kind = Kind::X;
    uint16_t index = 0;  // x or f register number, or CSR address
    unsigned bits = 64;
};

class RiscvRegisters {
public:
    static constexpr unsigned kGRegisters = 33;  // x0..x31, pc

    // The CSRs are those `probe` can read (a hart in M-mode), so the list is the hart's own.
    explicit RiscvRegisters(rv64::Hart& probe);

    const std::vector<RiscvRegister>& all() const { return m_regs; }
    const std::string& target_xml() const { return m_xml; }

    // A paused hart's register as gdb sees it; nullopt: no such register.
    std::optional<uint64_t> read(rv64::Hart& h, unsigned regnum) const;
    // False if there is no such register or the hart refuses the value (a read-only CSR, a
    // privilege level that does not exist, a misaligned pc).
    bool write(rv64::Hart& h, unsigned regnum, uint64_t value) const;

private:
    std::string build_xml() const;

    std::vector<RiscvRegister> m_regs;
    std::string m_xml;
};

}  // namespace trapeze::gdb
