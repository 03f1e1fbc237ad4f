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
// H (priv spec ch. 8). medeleg can send HS-mode the causes V=1 brings (ecall from VS,
// guest-page faults, virtual instruction); hedeleg can send VS-mode only the ordinary ones
// (§8.2.2: bits 9-11 and 20-23 are read-only zero).
constexpr uint64_t kMedelegHMask = (1ull << EXC_ECALL_VS) | (1ull << EXC_INST_GUEST_PAGE_FAULT) |
                                   (1ull << EXC_LOAD_GUEST_PAGE_FAULT) | (1ull << EXC_VIRTUAL_INST) |
                                   (1ull << EXC_STORE_GUEST_PAGE_FAULT);
constexpr uint64_t kHedelegMask = 0xb1ff;
constexpr uint64_t kHstatusWritable = HSTATUS_GVA | HSTATUS_SPV | HSTATUS_SPVP | HSTATUS_HU | HSTATUS_VTVM |
                                      HSTATUS_VTW | HSTATUS_VTSR;
constexpr uint64_t kVsstatusWritable = MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP | MSTATUS_FS | MSTATUS_SUM | MSTATUS_MXR;
constexpr uint64_t kXlen64 = 2ull << 32;  // hstatus.VSXL, vsstatus.UXL: 64-bit, read-only

bool legal_atp_mode(uint64_t mode) {
    return mode == SATP_MODE_BARE || mode == SATP_MODE_SV39 || mode == SATP_MODE_SV48 || mode == SATP_MODE_SV57;
}

// While V=1 these S CSRs are the VS CSRs numbered 0x100 above them (§8.2.11-§8.2.20).
bool has_vs_alias(uint16_t num) {
    switch (num) {
        case SSTATUS: case SIE: case STVEC: case SSCRATCH: case SEPC: case SCAUSE: case STVAL: case SIP:
        case STIMECMP: case SATP:
            return true;
        default:
            return false;
    }
}

uint64_t legal_tvec(uint64_t old, uint64_t v) {
    // Modes 0 (direct) and 1 (vectored) only; the base is 4-byte aligned (§3.1.7).
    if ((v & 3) >= 2) return old;
    return v & ~2ull;
}

}  // namespace

// The CSR values a hart can hold: what the WARL rules of csr_write leave (a snapshot file that
// was edited could hold anything, and e.g. mstatus.MPP = 2 would let mret enter a privilege
// level that does not exist).
Result<void> Hart::check_csrs(const HartState& st) const {
    const uint64_t xl = (2ull << 32) | (2ull << 34);
    const uint64_t mpp = (st.mstatus & MSTATUS_MPP) >> 11;
    const bool sd = (st.mstatus & MSTATUS_SD) != 0, fs_dirty = (st.mstatus & MSTATUS_FS) == FS_DIRTY;
    const bool h = m_cfg.hypervisor;
    if ((st.mstatus & ~(mstatus_writable() | MSTATUS_UXL | MSTATUS_SXL | MSTATUS_SD)) != 0 ||
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
    const uint64_t h_irqs = h ? VS_INTERRUPTS : 0;
    if ((st.medeleg & ~(kMedelegMask | (h ? kMedelegHMask : 0))) != 0 || (st.mideleg & ~(kMidelegMask | h_irqs)) != 0 ||
        (st.mideleg & h_irqs) != h_irqs || (st.mie & ~(kMieMask | h_irqs)) != 0 ||
        (st.mip & ~(kMipWritable | (h ? VS_INTERRUPTS : 0))) != 0)
        return make_error("medeleg, mideleg, mie or mip has bits this hart does not implement");
    if ((st.senvcfg & ~kEnvcfgMask) != 0 || (st.menvcfg & ~(kEnvcfgMask | MENVCFG_STCE)) != 0)
        return make_error("menvcfg/senvcfg has bits this hart does not implement");
    if (!h) {
        if (st.virt) return make_error("V=1 on a hart without the hypervisor extension");
        return ok();
    }
    if ((st.hstatus & ~kHstatusWritable) != kXlen64 || (st.vsstatus & ~(kVsstatusWritable | MSTATUS_SD)) != kXlen64 ||
        (st.hedeleg & ~kHedelegMask) != 0 || (st.hideleg & ~VS_INTERRUPTS) != 0 ||
        (st.henvcfg & ~(kEnvcfgMask | MENVCFG_STCE)) != 0 || (st.hcounteren >> 32) != 0)
        return make_error("hstatus, vsstatus, hedeleg, hideleg, henvcfg or hcounteren has bits this hart does not implement");
    if (!legal_atp_mode(st.vsatp >> 60) || (st.vsatp & ~satp_bits) != 0 || !legal_atp_mode(st.hgatp >> 60) ||
        (st.hgatp & ~(SATP_PPN_MASK | (0xfull << 60))) != 0 || (st.hgatp & 3) != 0)
        return make_error("vsatp {:#x} or hgatp {:#x} is not a value this hart can hold", st.vsatp, st.hgatp);
    if ((st.vstvec & 2) != 0 || (st.vsepc & 1) != 0) return make_error("vstvec or vsepc is not a value this hart can hold");
    if (st.virt && st.priv == Priv::M) return make_error("V=1 in M-mode");
    return ok();
}

uint64_t Hart::mstatus_writable() const {
    return kMstatusWritable | (m_cfg.hypervisor ? MSTATUS_MPV | MSTATUS_GVA : 0);
}

// Zicntr's counters below M (§3.1.11, §4.1.5), and with V=1 hcounteren too (§8.2.6): what
// mcounteren allows but hcounteren (or, in VU-mode, scounteren) does not is a virtual instruction.
bool Hart::counter_enabled(uint16_t num) {
    const unsigned bitpos = num - CYCLE;
    if (s.priv == Priv::M) return true;
    if (((s.mcounteren >> bitpos) & 1) == 0) return false;
    if (s.virt) {
        const bool h_allows = ((s.hcounteren >> bitpos) & 1) != 0;
        if (h_allows && (s.priv == Priv::S || ((s.scounteren >> bitpos) & 1) != 0)) return true;
        m_csr_refusal = EXC_VIRTUAL_INST;
        return false;
    }
    return s.priv == Priv::S || ((s.scounteren >> bitpos) & 1) != 0;
}

// The privilege a CSR number asks for (priv spec §2.1: bits 9:8; 2 is HS-mode's, with H).
bool Hart::csr_accessible(uint16_t num, bool write) {
    m_csr_refusal = EXC_ILLEGAL_INST;
    const unsigned level = (num >> 8) & 3u;
    if (write && (num >> 10) == 3) return false;  // read-only CSR
    if (!s.virt) {
        const unsigned have = s.priv == Priv::M ? 3 : s.priv == Priv::S ? (m_cfg.hypervisor ? 2 : 1) : 0;
        return have >= level;
    }
    // V=1 (§8.6.1): M-level CSRs are illegal; hypervisor and VS CSRs, and S CSRs from VU-mode,
    // are virtual instructions when HS-mode could access them.
    if (level == 3) return false;
    if (level == 2 || (level == 1 && s.priv == Priv::U)) {
        if (csr_exists_in_hs(num)) m_csr_refusal = EXC_VIRTUAL_INST;
        return false;
    }
    return true;
}

// Whether HS-mode could read the CSR (with mstatus.TVM clear, §8.6.1): reads have no side
// effects, so this asks csr_read itself as V=0, S.
bool Hart::csr_exists_in_hs(uint16_t num) {
    const Priv priv = s.priv;
    const uint64_t mstatus = s.mstatus;
    s.virt = false;
    s.priv = Priv::S;
    s.mstatus &= ~MSTATUS_TVM;
    uint64_t ignored = 0;
    const bool exists = csr_read(num, ignored);
    s.virt = true;
    s.priv = priv;
    s.mstatus = mstatus;
    return exists;
}

// While V=1, VS-mode's S-CSR accesses reach the VS CSRs, with the hypervisor's traps on
// satp (hstatus.VTVM) and stimecmp (henvcfg.STCE, hcounteren.TM: Sstc §3.2).
bool Hart::vs_redirect(uint16_t& num) {
    if (!s.virt || !has_vs_alias(num)) return true;
    if (num == SATP && (s.hstatus & HSTATUS_VTVM) != 0) {
        m_csr_refusal = EXC_VIRTUAL_INST;
        return false;
    }
    if (num == STIMECMP) {
        if (!m_cfg.sstc || (s.menvcfg & MENVCFG_STCE) == 0 || (s.mcounteren & 2) == 0) return false;
        if ((s.henvcfg & MENVCFG_STCE) == 0 || (s.hcounteren & 2) == 0) {
            m_csr_refusal = EXC_VIRTUAL_INST;
            return false;
        }
    }
    num = static_cast<uint16_t>(num + 0x100);
    return true;
}

bool Hart::csr_read(uint16_t num, uint64_t& out) {
    if (!csr_accessible(num, false) || !vs_redirect(num)) return false;
    if (m_cfg.hypervisor && hyp_csr_read(num, out)) return true;
    switch (num) {
        case FFLAGS: if (!fp_enabled()) return false; out = s.fflags; return true;
        case FRM: if (!fp_enabled()) return false; out = s.frm; return true;
        case FCSR: if (!fp_enabled()) return false; out = static_cast<uint64_t>(s.frm) << 5 | s.fflags; return true;
        case CYCLE: if (!counter_enabled(num)) return false; out = s.mcycle; return true;
        case TIME: if (!counter_enabled(num)) return false; out = s.virt ? guest_time() : time(); return true;
        case INSTRET: if (!counter_enabled(num)) return false; out = s.minstret; return true;
        case SSTATUS: out = s.mstatus & SSTATUS_MASK; return true;
        case SIE: out = s.mie & s.mideleg & S_INTERRUPTS; return true;
        case STVEC: out = s.stvec; return true;
        case SCOUNTEREN: out = s.scounteren; return true;
        case SENVCFG: out = s.senvcfg; return true;
        case SSCRATCH: out = s.sscratch; return true;
        case SEPC: out = s.sepc; return true;
        case SCAUSE: out = s.scause; return true;
        case STVAL: out = s.stval; return true;
        case SIP: out = mip() & s.mideleg & S_INTERRUPTS; return true;
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
    const uint64_t writable = mstatus_writable();
    uint64_t next = (old & ~writable) | (v & writable);
    if (((next & MSTATUS_MPP) >> 11) == 2) next = (next & ~MSTATUS_MPP) | (old & MSTATUS_MPP);  // MPP=2 reserved
    next &= ~MSTATUS_SD;
    if ((next & MSTATUS_FS) == FS_DIRTY) next |= MSTATUS_SD;
    s.mstatus = next;
    if ((old ^ next) & MSTATUS_MXR) flush_tlb();
    if ((old ^ next) & (MSTATUS_MPRV | MSTATUS_MPP | MSTATUS_SUM | MSTATUS_MPV)) update_mmu_view();
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
    if (!csr_accessible(num, true) || !vs_redirect(num)) return false;
    if (m_cfg.hypervisor && hyp_csr_write(num, v)) return true;
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
        case SIE: {
            const uint64_t bits = s.mideleg & S_INTERRUPTS;
            s.mie = (s.mie & ~bits) | (v & bits);
            return true;
        }
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
        case MEDELEG: s.medeleg = v & (kMedelegMask | (m_cfg.hypervisor ? kMedelegHMask : 0)); return true;
        case MIDELEG: s.mideleg = (v & kMidelegMask) | (m_cfg.hypervisor ? VS_INTERRUPTS : 0); return true;
        case MIE: s.mie = v & (kMieMask | (m_cfg.hypervisor ? VS_INTERRUPTS : 0)); return true;
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
            uint64_t writable = kMipWritable | (m_cfg.hypervisor ? MIP_VSSIP : 0);  // VSSIP: hvip's
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

// --- hypervisor extension (priv spec ch. 8) ---------------------------------------------------

// The H and VS CSRs, and M's H additions; false for any other number (csr_read goes on).
bool Hart::hyp_csr_read(uint16_t num, uint64_t& out) {
    switch (num) {
        case VSSTATUS: out = s.vsstatus; return true;
        // vsie/vsip: hie/hip's VS bits that hideleg gives the guest, at the S bits' places (§8.2.12).
        case VSIE: out = (s.mie & s.hideleg) >> 1; return true;
        case VSIP: out = (mip() & s.hideleg) >> 1; return true;
        case VSTVEC: out = s.vstvec; return true;
        case VSSCRATCH: out = s.vsscratch; return true;
        case VSEPC: out = s.vsepc; return true;
        case VSCAUSE: out = s.vscause; return true;
        case VSTVAL: out = s.vstval; return true;
        case VSTIMECMP:
            if (!m_cfg.sstc) return false;
            if (s.priv != Priv::M && ((s.menvcfg & MENVCFG_STCE) == 0 || (s.mcounteren & 2) == 0)) return false;
            out = s.vstimecmp;
            return true;
        case VSATP: out = s.vsatp; return true;
        case HSTATUS: out = s.hstatus; return true;
        case HEDELEG: out = s.hedeleg; return true;
        case HIDELEG: out = s.hideleg; return true;
        case HIE: out = s.mie & VS_INTERRUPTS; return true;
        case HTIMEDELTA: out = s.htimedelta; return true;
        case HCOUNTEREN: out = s.hcounteren; return true;
        case HGEIE: case HGEIP: out = 0; return true;  // GEILEN = 0
        case HENVCFG: out = s.henvcfg; return true;
        case HTVAL: out = s.htval; return true;
        case HIP: out = mip() & VS_INTERRUPTS; return true;
        case HVIP: out = s.mip & VS_INTERRUPTS; return true;
        case HTINST: out = s.htinst; return true;
        case HGATP:
            if (s.priv == Priv::S && (s.mstatus & MSTATUS_TVM) != 0) return false;
            out = s.hgatp;
            return true;
        case MTINST: out = s.mtinst; return true;
        case MTVAL2: out = s.mtval2; return true;
        default: return false;
    }
}

bool Hart::hyp_csr_write(uint16_t num, uint64_t v) {
    switch (num) {
        case VSSTATUS: {
            const uint64_t old = s.vsstatus;
            uint64_t next = kXlen64 | (v & kVsstatusWritable);
            if ((next & MSTATUS_FS) == FS_DIRTY) next |= MSTATUS_SD;
            s.vsstatus = next;
            if ((old ^ next) & MSTATUS_MXR) flush_guest_tlb();
            if ((old ^ next) & MSTATUS_SUM) update_mmu_view();
            return true;
        }
        case VSIE: {
            const uint64_t bits = s.hideleg & VS_INTERRUPTS;
            s.mie = (s.mie & ~bits) | ((v << 1) & bits);
            return true;
        }
        case VSIP: {  // only the software interrupt is the guest's to write
            const uint64_t bits = s.hideleg & MIP_VSSIP;
            s.mip = (s.mip & ~bits) | ((v << 1) & bits);
            return true;
        }
        case VSTVEC: s.vstvec = legal_tvec(s.vstvec, v); return true;
        case VSSCRATCH: s.vsscratch = v; return true;
        case VSEPC: s.vsepc = v & ~1ull; return true;
        case VSCAUSE: s.vscause = v; return true;
        case VSTVAL: s.vstval = v; return true;
        case VSTIMECMP:
            if (!m_cfg.sstc) return false;
            if (s.priv != Priv::M && ((s.menvcfg & MENVCFG_STCE) == 0 || (s.mcounteren & 2) == 0)) return false;
            s.vstimecmp = v;
            update_sstc();
            return true;
        case VSATP: write_vsatp(v); return true;
        case HSTATUS: s.hstatus = kXlen64 | (v & kHstatusWritable); return true;
        case HEDELEG: s.hedeleg = v & kHedelegMask; return true;
        case HIDELEG: s.hideleg = v & VS_INTERRUPTS; return true;
        case HIE: s.mie = (s.mie & ~VS_INTERRUPTS) | (v & VS_INTERRUPTS); return true;
        case HTIMEDELTA: s.htimedelta = v; update_sstc(); return true;
        case HCOUNTEREN: s.hcounteren = v & 0xffffffff; return true;
        case HGEIE: return true;  // GEILEN = 0: read-only zero
        case HENVCFG:
            // STCE is read-only zero while menvcfg.STCE is (Sstc §3.2).
            s.henvcfg = v & (kEnvcfgMask | (m_stce ? MENVCFG_STCE : 0));
            update_sstc();
            return true;
        case HTVAL: s.htval = v; return true;
        case HIP: s.mip = (s.mip & ~MIP_VSSIP) | (v & MIP_VSSIP); return true;  // hip.VSSIP is hvip's
        case HVIP: s.mip = (s.mip & ~VS_INTERRUPTS) | (v & VS_INTERRUPTS); return true;
        case HTINST: s.htinst = v; return true;
        case HGATP:
            if (s.priv == Priv::S && (s.mstatus & MSTATUS_TVM) != 0) return false;
            write_hgatp(v);
            return true;
        case MTINST: s.mtinst = v; return true;
        case MTVAL2: s.mtval2 = v; return true;
        default: return false;
    }
}

// As satp's (§4.1.11): an unsupported mode leaves vsatp unchanged, ASIDs tag the entries.
void Hart::write_vsatp(uint64_t v) {
    const uint64_t mode = v >> 60;
    if (!legal_atp_mode(mode)) return;
    const uint64_t asid = (v >> SATP_ASID_SHIFT) & mask_low(kAsidBits);
    const uint64_t next = (mode << 60) | (asid << SATP_ASID_SHIFT) | (v & SATP_PPN_MASK);
    const bool mode_changed = (next >> 60) != (s.vsatp >> 60);
    s.vsatp = next;
    if (mode_changed) flush_guest_tlb();
    bump_context_gen();
    update_mmu_view();
}

// §8.2.10: VMIDLEN = 0; the x4 modes' root tables are 16 KiB, so PPN's two low bits are zero.
// A write with an unsupported mode leaves hgatp unchanged (a legal value for every field).
void Hart::write_hgatp(uint64_t v) {
    const uint64_t mode = v >> 60;
    if (!legal_atp_mode(mode)) return;
    s.hgatp = (mode << 60) | (v & SATP_PPN_MASK & ~3ull);
    flush_guest_tlb();
    update_mmu_view();
}

}  // namespace trapeze::rv64
