// CSR access rules and the register file (priv spec §2.1, ch. 3 and 4; unpriv spec ch. 10–11).
#include "rv64/csr.hpp"

#include "rv64/hart.hpp"

namespace trapeze::rv64 {

using namespace csr;

namespace {

constexpr uint64_t kMedelegMask = 0xb3ff;  // all synchronous causes but ecall from M (11), §3.1.8
constexpr uint64_t kMidelegMask = S_INTERRUPTS;
constexpr uint64_t kMieMask = ALL_INTERRUPTS;
constexpr uint64_t kMipWritable = S_INTERRUPTS;  // MSIP/MTIP/MEIP come from the CLINT and the PLIC
constexpr uint64_t kMstatusWritable = MSTATUS_SIE | MSTATUS_MIE | MSTATUS_SPIE | MSTATUS_MPIE | MSTATUS_SPP |
                                      MSTATUS_MPP | MSTATUS_FS | MSTATUS_MPRV | MSTATUS_SUM | MSTATUS_MXR |
                                      MSTATUS_TVM | MSTATUS_TW | MSTATUS_TSR;
constexpr uint64_t kEnvcfgMask = MENVCFG_FIOM | MENVCFG_CBIE | MENVCFG_CBCFE | MENVCFG_CBZE;

uint64_t legal_tvec(uint64_t old, uint64_t v) {
    // Modes 0 (direct) and 1 (vectored) only; the base is 4-byte aligned (§3.1.7).
    if ((v & 3) >= 2) return old;
    return v & ~2ull;
}

}  // namespace

// The CSR values a hart can hold: what the WARL rules of csr_write leave (a snapshot file that
// was edited could hold anything, and e.g. mstatus.MPP = 2 would let mret enter a privilege
// level that does not exist).
Result<void> Hart::check_csrs(const HartState& st) {
    const uint64_t xl = (2ull << 32) | (2ull << 34);
    const uint64_t mpp = (st.mstatus & MSTATUS_MPP) >> 11;
    const bool sd = (st.mstatus & MSTATUS_SD) != 0, fs_dirty = (st.mstatus & MSTATUS_FS) == FS_DIRTY;
    if ((st.mstatus & ~(kMstatusWritable | MSTATUS_UXL | MSTATUS_SXL | MSTATUS_SD)) != 0 ||
        (st.mstatus & (MSTATUS_UXL | MSTATUS_SXL)) != xl || mpp == 2 || sd != fs_dirty)
        return make_error("mstatus {:#x} is not a value this hart can hold", st.mstatus);
    const uint64_t mode = st.satp >> 60;
    const uint64_t satp_bits = SATP_PPN_MASK | (mask_low(kAsidBits) << SATP_ASID_SHIFT) | (0xfull << 60);
    if ((mode != SATP_MODE_BARE && mode != SATP_MODE_SV39 && mode != SATP_MODE_SV48 && mode != SATP_MODE_SV57) ||
        (st.satp & ~satp_bits) != 0)
        return make_error("satp {:#x} has a translation mode or bits this hart does not implement", st.satp);
    for (const uint64_t tvec : {st.mtvec, st.stvec}) {
        if ((tvec & 2) != 0) return make_error("trap vector {:#x} has a reserved mode", tvec);
    }
    if ((st.mepc & 1) != 0 || (st.sepc & 1) != 0) return make_error("mepc/sepc is odd");
    if ((st.medeleg & ~kMedelegMask) != 0 || (st.mideleg & ~kMidelegMask) != 0 || (st.mie & ~kMieMask) != 0 ||
        (st.mip & ~kMipWritable) != 0)
        return make_error("medeleg, mideleg, mie or mip has bits this hart does not implement");
    if ((st.senvcfg & ~kEnvcfgMask) != 0 || (st.menvcfg & ~(kEnvcfgMask | MENVCFG_STCE)) != 0)
        return make_error("menvcfg/senvcfg has bits this hart does not implement");
    return ok();
}

bool Hart::counter_enabled(uint16_t num) const {
    const unsigned bitpos = num - CYCLE;
    if (s.priv == Priv::M) return true;
    if (((s.mcounteren >> bitpos) & 1) == 0) return false;
    return s.priv == Priv::S || ((s.scounteren >> bitpos) & 1) != 0;
}

bool Hart::csr_accessible(uint16_t num, bool write) const {
    if (static_cast<unsigned>(s.priv) < ((num >> 8) & 3u)) return false;
    if (write && (num >> 10) == 3) return false;  // read-only CSR
    return true;
}

bool Hart::csr_read(uint16_t num, uint64_t& out) {
    if (!csr_accessible(num, false)) return false;
    switch (num) {
        case FFLAGS: if (!fp_enabled()) return false; out = s.fflags; return true;
        case FRM: if (!fp_enabled()) return false; out = s.frm; return true;
        case FCSR: if (!fp_enabled()) return false; out = static_cast<uint64_t>(s.frm) << 5 | s.fflags; return true;
        case CYCLE: if (!counter_enabled(num)) return false; out = s.mcycle; return true;
        case TIME: if (!counter_enabled(num)) return false; out = time(); return true;
        case INSTRET: if (!counter_enabled(num)) return false; out = s.minstret; return true;
        case SSTATUS: out = s.mstatus & SSTATUS_MASK; return true;
        case SIE: out = s.mie & s.mideleg; return true;
        case STVEC: out = s.stvec; return true;
        case SCOUNTEREN: out = s.scounteren; return true;
        case SENVCFG: out = s.senvcfg; return true;
        case SSCRATCH: out = s.sscratch; return true;
        case SEPC: out = s.sepc; return true;
        case SCAUSE: out = s.scause; return true;
        case STVAL: out = s.stval; return true;
        case SIP: out = mip() & s.mideleg; return true;
        case STIMECMP:
            if (!m_cfg.sstc) return false;
            if (s.priv == Priv::S && ((s.menvcfg & MENVCFG_STCE) == 0 || (s.mcounteren & 2) == 0)) return false;
            out = s.stimecmp;
            return true;
        case SATP:
            if (s.priv == Priv::S && (s.mstatus & MSTATUS_TVM) != 0) return false;
            out = s.satp;
            return true;
        case MVENDORID: case MARCHID: case MIMPID: case MCONFIGPTR: out = 0; return true;
        case MHARTID: out = s.mhartid; return true;
        case MSTATUS: out = s.mstatus; return true;
        case MISA: out = s.misa; return true;
        case MEDELEG: out = s.medeleg; return true;
        case MIDELEG: out = s.mideleg; return true;
        case MIE: out = s.mie; return true;
        case MTVEC: out = s.mtvec; return true;
        case MCOUNTEREN: out = s.mcounteren; return true;
        case MENVCFG: out = s.menvcfg; return true;
        case MCOUNTINHIBIT: out = s.mcountinhibit; return true;
        case MSCRATCH: out = s.mscratch; return true;
        case MEPC: out = s.mepc; return true;
        case MCAUSE: out = s.mcause; return true;
        case MTVAL: out = s.mtval; return true;
        case MIP: out = mip(); return true;
        case TSELECT: case TDATA1: case TDATA2: case TDATA3: out = 0; return true;
        case TINFO: out = 1; return true;  // only type 0 is "supported": there are no triggers
        case MCYCLE: out = s.mcycle; return true;
        case MINSTRET: out = s.minstret; return true;
        default: break;
    }
    if (num >= PMPCFG0 && num <= PMPCFG15) {
        if (num & 1) return false;
        const unsigned base = static_cast<unsigned>(num - PMPCFG0) * 4;
        out = 0;
        for (unsigned i = 0; i < 8; ++i) out |= static_cast<uint64_t>(s.pmpcfg[base + i]) << (8 * i);
        return true;
    }
    if (num >= PMPADDR0 && num <= PMPADDR63) {
        out = s.pmpaddr[num - PMPADDR0];
        return true;
    }
    // Hardware performance monitor counters and events exist and read as zero (§3.1.10).
    if ((num >= MHPMCOUNTER3 && num <= MHPMCOUNTER31) || (num >= MHPMEVENT3 && num <= MHPMEVENT31)) {
        out = 0;
        return true;
    }
    if (num >= HPMCOUNTER3 && num <= HPMCOUNTER31) {
        if (!counter_enabled(num)) return false;
        out = 0;
        return true;
    }
    return false;
}

void Hart::write_mstatus(uint64_t v) {
    const uint64_t old = s.mstatus;
    uint64_t next = (old & ~kMstatusWritable) | (v & kMstatusWritable);
    if (((next & MSTATUS_MPP) >> 11) == 2) next = (next & ~MSTATUS_MPP) | (old & MSTATUS_MPP);  // MPP=2 reserved
    next &= ~MSTATUS_SD;
    if ((next & MSTATUS_FS) == FS_DIRTY) next |= MSTATUS_SD;
    s.mstatus = next;
    if ((old ^ next) & MSTATUS_MXR) flush_tlb();
    if ((old ^ next) & (MSTATUS_MPRV | MSTATUS_MPP | MSTATUS_SUM)) update_mmu_view();
}

void Hart::write_satp(uint64_t v) {
    const uint64_t mode = v >> 60;
    if (mode != SATP_MODE_BARE && mode != SATP_MODE_SV39 && mode != SATP_MODE_SV48 && mode != SATP_MODE_SV57)
        return;  // WARL: unsupported modes leave satp unchanged (§4.1.11)
    const uint64_t asid = (v >> SATP_ASID_SHIFT) & mask_low(kAsidBits);
    const uint64_t next = (mode << 60) | (asid << SATP_ASID_SHIFT) | (v & SATP_PPN_MASK);
    const bool mode_changed = (next >> 60) != (s.satp >> 60);
    s.satp = next;
    // Entries are ASID-tagged, so an ASID switch needs no flush; a mode switch reuses
    // ASID 0 for bare and translated entries, so it does.
    if (mode_changed) flush_tlb();
    bump_context_gen();
    update_mmu_view();
}

bool Hart::csr_write(uint16_t num, uint64_t v) {
    if (!csr_accessible(num, true)) return false;
    switch (num) {
        case FFLAGS: if (!fp_enabled()) return false; s.fflags = v & 0x1f; set_fs_dirty(); return true;
        case FRM: if (!fp_enabled()) return false; s.frm = v & 7; set_fs_dirty(); return true;
        case FCSR:
            if (!fp_enabled()) return false;
            s.fflags = v & 0x1f;
            s.frm = (v >> 5) & 7;
            set_fs_dirty();
            return true;
        case SSTATUS: write_mstatus((s.mstatus & ~SSTATUS_MASK) | (v & SSTATUS_MASK)); return true;
        case SIE: s.mie = (s.mie & ~s.mideleg) | (v & s.mideleg); return true;
        case STVEC: s.stvec = legal_tvec(s.stvec, v); return true;
        case SCOUNTEREN: s.scounteren = v & 0xffffffff; return true;
        case SENVCFG: s.senvcfg = v & kEnvcfgMask; return true;
        case SSCRATCH: s.sscratch = v; return true;
        case SEPC: s.sepc = v & ~1ull; return true;
        case SCAUSE: s.scause = v; return true;
        case STVAL: s.stval = v; return true;
        case SIP: s.mip = (s.mip & ~(s.mideleg & MIP_SSIP)) | (v & s.mideleg & MIP_SSIP); return true;
        case STIMECMP:
            if (!m_cfg.sstc) return false;
            if (s.priv == Priv::S && ((s.menvcfg & MENVCFG_STCE) == 0 || (s.mcounteren & 2) == 0)) return false;
            s.stimecmp = v;
            update_sstc();
            return true;
        case SATP:
            if (s.priv == Priv::S && (s.mstatus & MSTATUS_TVM) != 0) return false;
            write_satp(v);
            return true;
        case MSTATUS: write_mstatus(v); return true;
        case MISA: return true;  // WARL: the extensions cannot be turned off
        case MEDELEG: s.medeleg = v & kMedelegMask; return true;
        case MIDELEG: s.mideleg = v & kMidelegMask; return true;
        case MIE: s.mie = v & kMieMask; return true;
        case MTVEC: s.mtvec = legal_tvec(s.mtvec, v); return true;
        case MCOUNTEREN: s.mcounteren = v & 0xffffffff; return true;
        case MENVCFG:
            s.menvcfg = v & (kEnvcfgMask | (m_cfg.sstc ? MENVCFG_STCE : 0));
            update_sstc();
            return true;
        case MCOUNTINHIBIT: s.mcountinhibit = v & 5; return true;
        case MSCRATCH: s.mscratch = v; return true;
        case MEPC: s.mepc = v & ~1ull; return true;
        case MCAUSE: s.mcause = v; return true;
        case MTVAL: s.mtval = v; return true;
        case MIP: {
            uint64_t writable = kMipWritable;
            if (m_stce) writable &= ~MIP_STIP;  // Sstc drives STIP
            s.mip = (s.mip & ~writable) | (v & writable);
            return true;
        }
        // The write takes effect after the writing instruction retires (priv spec §3.1.11),
        // whose own increment the interpreter adds afterwards: pre-compensate it.
        case MCYCLE: s.mcycle = v - ((s.mcountinhibit & 1) == 0 ? 1 : 0); return true;
        case MINSTRET: s.minstret = v - ((s.mcountinhibit & 4) == 0 ? 1 : 0); return true;
        // Sdtrig with zero triggers (debug spec §5.7): tdata1 reads type 0 ("no trigger").
        case TSELECT: case TDATA1: case TDATA2: case TDATA3: return true;
        default: break;
    }
    if ((num >= PMPCFG0 && num <= PMPCFG15) || (num >= PMPADDR0 && num <= PMPADDR63)) return write_pmp(num, v);
    if ((num >= MHPMCOUNTER3 && num <= MHPMCOUNTER31) || (num >= MHPMEVENT3 && num <= MHPMEVENT31)) return true;
    return false;
}

}  // namespace trapeze::rv64
