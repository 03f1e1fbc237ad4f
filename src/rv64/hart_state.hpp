// HartState: the architectural state of one RISC-V hart, shared by the interpreter,
// the JIT (which reaches it at fixed offsets) and snapshots. Plain data, no behaviour.
#pragma once

#include <array>
#include <cstdint>

namespace trapeze::snapshot {
class StateReader;
class StateWriter;
}  // namespace trapeze::snapshot

namespace trapeze::rv64 {

enum class Priv : uint8_t { U = 0, S = 1, M = 3 };

struct HartState {
    std::array<uint64_t, 33> x{};  // x[32] is the write sink the decoder uses for rd == x0
    std::array<uint64_t, 32> f{};  // NaN-boxed single values (unpriv spec §12.2)
    uint64_t pc = 0;
    Priv priv = Priv::M;
    uint8_t fflags = 0;  // fcsr[4:0]
    uint8_t frm = 0;     // fcsr[7:5]
    bool wfi = false;    // stalled in WFI until an interrupt is pending (priv spec §3.3.3)
    // The virtualization mode V of the H extension (priv spec §8.1): with V=1, priv S is VS-mode
    // and U is VU-mode. Always false on a hart without the extension.
    bool virt = false;

    // LR/SC reservation (unpriv spec §8.2), on a physical address, and the value LR read
    // there: SC stores only if memory still holds it (one compare-and-swap), so a store by
    // another host thread between the two makes it fail. Only the LR of a constrained
    // sequence reserves (rv64/isa/lr_sequence.hpp: where a value compare is exact).
    bool reservation_valid = false;
    uint64_t reservation = 0;
    uint64_t reservation_value = 0;

    // Machine-level CSRs (priv spec ch. 3).
    uint64_t mhartid = 0;
    uint64_t mstatus = 0;
    uint64_t misa = 0;
    uint64_t medeleg = 0;
    uint64_t mideleg = 0;
    uint64_t mie = 0;
    uint64_t mip = 0;  // software-writable bits only; lines from devices are OR-ed in on read
    uint64_t mtvec = 0;
    uint64_t mscratch = 0;
    uint64_t mepc = 0;
    uint64_t mcause = 0;
    uint64_t mtval = 0;
    uint64_t mcounteren = 0;
    uint64_t mcountinhibit = 0;
    uint64_t menvcfg = 0;
    uint64_t mseccfg = 0;
    uint64_t mcycle = 0;
    uint64_t minstret = 0;
    std::array<uint8_t, 64> pmpcfg{};
    std::array<uint64_t, 64> pmpaddr{};

    // Supervisor-level CSRs (priv spec ch. 4).
    uint64_t stvec = 0;
    uint64_t sscratch = 0;
    uint64_t sepc = 0;
    uint64_t scause = 0;
    uint64_t stval = 0;
    uint64_t satp = 0;
    uint64_t scounteren = 0;
    uint64_t senvcfg = 0;
    uint64_t stimecmp = ~0ull;  // Sstc

    // Hypervisor-extension CSRs (priv spec ch. 8), zero on a hart without it. Where the spec
    // makes one register an alias of bits of another, only one holds them: hvip's VSSIP, VSTIP
    // and VSEIP are mip's bits 2, 6 and 10 (so hip, mip and hvip agree), hie is mie's VS bits,
    // vsip and vsie are views of those under hideleg.
    uint64_t hstatus = 0;
    uint64_t hedeleg = 0;
    uint64_t hideleg = 0;
    uint64_t hcounteren = 0;
    uint64_t henvcfg = 0;
    uint64_t htimedelta = 0;
    uint64_t htval = 0;
    uint64_t htinst = 0;
    uint64_t hgatp = 0;
    uint64_t mtval2 = 0;
    uint64_t mtinst = 0;
    // The virtual supervisor's CSRs, which S-CSR accesses reach while V=1 (§8.2.11-§8.2.20).
    uint64_t vsstatus = 0;
    uint64_t vstvec = 0;
    uint64_t vsscratch = 0;
    uint64_t vsepc = 0;
    uint64_t vscause = 0;
    uint64_t vstval = 0;
    uint64_t vsatp = 0;
    uint64_t vstimecmp = ~0ull;  // Sstc

    // The snapshot encoding (hart_state.cpp): every field above in order, x[32] excepted, but
    // V and the hypervisor's CSRs, which have a section of their own (write_h), written only
    // for harts with the extension, so the files of harts without it are unchanged.
    void write(snapshot::StateWriter& w) const;
    // Fields no hart can hold (priv 2, fflags above 5 bits) fail the reader.
    static HartState read(snapshot::StateReader& r);
    void write_h(snapshot::StateWriter& w) const;
    void read_h(snapshot::StateReader& r);
};

}  // namespace trapeze::rv64
