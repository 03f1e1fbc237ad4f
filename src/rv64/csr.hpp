// CSR numbers and bit fields, spelled as in the privileged spec (v1.12/20211203)
// so they can be grepped against it.
#pragma once

#include <cstdint>

namespace trapeze::rv64::csr {

// Unprivileged (Zicsr/F/Zicntr) — unpriv spec ch. 10, 11.
inline constexpr uint16_t FFLAGS = 0x001;
inline constexpr uint16_t FRM = 0x002;
inline constexpr uint16_t FCSR = 0x003;
inline constexpr uint16_t CYCLE = 0xc00;
inline constexpr uint16_t TIME = 0xc01;
inline constexpr uint16_t INSTRET = 0xc02;
inline constexpr uint16_t HPMCOUNTER3 = 0xc03;
inline constexpr uint16_t HPMCOUNTER31 = 0xc1f;

// Supervisor — priv spec ch. 4.
inline constexpr uint16_t SSTATUS = 0x100;
inline constexpr uint16_t SIE = 0x104;
inline constexpr uint16_t STVEC = 0x105;
inline constexpr uint16_t SCOUNTEREN = 0x106;
inline constexpr uint16_t SENVCFG = 0x10a;
inline constexpr uint16_t SSCRATCH = 0x140;
inline constexpr uint16_t SEPC = 0x141;
inline constexpr uint16_t SCAUSE = 0x142;
inline constexpr uint16_t STVAL = 0x143;
inline constexpr uint16_t SIP = 0x144;
inline constexpr uint16_t STIMECMP = 0x14d;  // Sstc
inline constexpr uint16_t SATP = 0x180;

// Hypervisor and virtual supervisor — priv spec ch. 8 ("Hypervisor Extension, Version 1.0").
inline constexpr uint16_t VSSTATUS = 0x200;
inline constexpr uint16_t VSIE = 0x204;
inline constexpr uint16_t VSTVEC = 0x205;
inline constexpr uint16_t VSSCRATCH = 0x240;
inline constexpr uint16_t VSEPC = 0x241;
inline constexpr uint16_t VSCAUSE = 0x242;
inline constexpr uint16_t VSTVAL = 0x243;
inline constexpr uint16_t VSIP = 0x244;
inline constexpr uint16_t VSTIMECMP = 0x24d;  // Sstc
inline constexpr uint16_t VSATP = 0x280;
inline constexpr uint16_t HSTATUS = 0x600;
inline constexpr uint16_t HEDELEG = 0x602;
inline constexpr uint16_t HIDELEG = 0x603;
inline constexpr uint16_t HIE = 0x604;
inline constexpr uint16_t HTIMEDELTA = 0x605;
inline constexpr uint16_t HCOUNTEREN = 0x606;
inline constexpr uint16_t HGEIE = 0x607;
inline constexpr uint16_t HENVCFG = 0x60a;
inline constexpr uint16_t HTVAL = 0x643;
inline constexpr uint16_t HIP = 0x644;
inline constexpr uint16_t HVIP = 0x645;
inline constexpr uint16_t HTINST = 0x64a;
inline constexpr uint16_t HGATP = 0x680;
inline constexpr uint16_t HGEIP = 0xe12;

// Machine — priv spec ch. 3.
inline constexpr uint16_t MVENDORID = 0xf11;
inline constexpr uint16_t MARCHID = 0xf12;
inline constexpr uint16_t MIMPID = 0xf13;
inline constexpr uint16_t MHARTID = 0xf14;
inline constexpr uint16_t MCONFIGPTR = 0xf15;
inline constexpr uint16_t MSTATUS = 0x300;
inline constexpr uint16_t MISA = 0x301;
inline constexpr uint16_t MEDELEG = 0x302;
inline constexpr uint16_t MIDELEG = 0x303;
inline constexpr uint16_t MIE = 0x304;
inline constexpr uint16_t MTVEC = 0x305;
inline constexpr uint16_t MCOUNTEREN = 0x306;
inline constexpr uint16_t MENVCFG = 0x30a;
inline constexpr uint16_t MCOUNTINHIBIT = 0x320;
inline constexpr uint16_t MHPMEVENT3 = 0x323;
inline constexpr uint16_t MHPMEVENT31 = 0x33f;
inline constexpr uint16_t MSCRATCH = 0x340;
inline constexpr uint16_t MEPC = 0x341;
inline constexpr uint16_t MCAUSE = 0x342;
inline constexpr uint16_t MTVAL = 0x343;
inline constexpr uint16_t MIP = 0x344;
inline constexpr uint16_t MTINST = 0x34a;  // H
inline constexpr uint16_t MTVAL2 = 0x34b;  // H
inline constexpr uint16_t PMPCFG0 = 0x3a0;
inline constexpr uint16_t PMPCFG15 = 0x3af;
inline constexpr uint16_t PMPADDR0 = 0x3b0;
inline constexpr uint16_t PMPADDR63 = 0x3ef;
inline constexpr uint16_t MSECCFG = 0x747;
inline constexpr uint16_t TSELECT = 0x7a0;
inline constexpr uint16_t TDATA1 = 0x7a1;
inline constexpr uint16_t TDATA2 = 0x7a2;
inline constexpr uint16_t TDATA3 = 0x7a3;
inline constexpr uint16_t TINFO = 0x7a4;
inline constexpr uint16_t MCYCLE = 0xb00;
inline constexpr uint16_t MINSTRET = 0xb02;
inline constexpr uint16_t MHPMCOUNTER3 = 0xb03;
inline constexpr uint16_t MHPMCOUNTER31 = 0xb1f;

// mstatus / sstatus fields — priv spec §3.1.6.
inline constexpr uint64_t MSTATUS_SIE = 1ull << 1;
inline constexpr uint64_t MSTATUS_MIE = 1ull << 3;
inline constexpr uint64_t MSTATUS_SPIE = 1ull << 5;
inline constexpr uint64_t MSTATUS_UBE = 1ull << 6;
inline constexpr uint64_t MSTATUS_MPIE = 1ull << 7;
inline constexpr uint64_t MSTATUS_SPP = 1ull << 8;
inline constexpr uint64_t MSTATUS_VS = 3ull << 9;
inline constexpr uint64_t MSTATUS_MPP = 3ull << 11;
inline constexpr uint64_t MSTATUS_FS = 3ull << 13;
inline constexpr uint64_t MSTATUS_XS = 3ull << 15;
inline constexpr uint64_t MSTATUS_MPRV = 1ull << 17;
inline constexpr uint64_t MSTATUS_SUM = 1ull << 18;
inline constexpr uint64_t MSTATUS_MXR = 1ull << 19;
inline constexpr uint64_t MSTATUS_TVM = 1ull << 20;
inline constexpr uint64_t MSTATUS_TW = 1ull << 21;
inline constexpr uint64_t MSTATUS_TSR = 1ull << 22;
inline constexpr uint64_t MSTATUS_UXL = 3ull << 32;
inline constexpr uint64_t MSTATUS_SXL = 3ull << 34;
inline constexpr uint64_t MSTATUS_SBE = 1ull << 36;
inline constexpr uint64_t MSTATUS_MBE = 1ull << 37;
inline constexpr uint64_t MSTATUS_GVA = 1ull << 38;  // H: mtval holds a guest virtual address
inline constexpr uint64_t MSTATUS_MPV = 1ull << 39;  // H: V before the trap into M
inline constexpr uint64_t MSTATUS_SD = 1ull << 63;

inline constexpr uint64_t FS_OFF = 0;
inline constexpr uint64_t FS_INITIAL = 1ull << 13;
inline constexpr uint64_t FS_CLEAN = 2ull << 13;
inline constexpr uint64_t FS_DIRTY = 3ull << 13;

// The sstatus view of mstatus — priv spec §4.1.1.
inline constexpr uint64_t SSTATUS_MASK = MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_UBE | MSTATUS_SPP | MSTATUS_VS |
                                         MSTATUS_FS | MSTATUS_XS | MSTATUS_SUM | MSTATUS_MXR | MSTATUS_UXL |
                                         MSTATUS_SD;

// Interrupt numbers (mip/mie bits) and exception causes — priv spec §3.1.9, table 3.6, and
// the hypervisor's VS-level and guest-external ones (§8.2.3).
enum Irq : unsigned {
    IRQ_S_SOFT = 1,
    IRQ_VS_SOFT = 2,
    IRQ_M_SOFT = 3,
    IRQ_S_TIMER = 5,
    IRQ_VS_TIMER = 6,
    IRQ_M_TIMER = 7,
    IRQ_S_EXT = 9,
    IRQ_VS_EXT = 10,
    IRQ_M_EXT = 11,
    IRQ_S_GEXT = 12,
};
inline constexpr uint64_t MIP_SSIP = 1ull << IRQ_S_SOFT;
inline constexpr uint64_t MIP_MSIP = 1ull << IRQ_M_SOFT;
inline constexpr uint64_t MIP_STIP = 1ull << IRQ_S_TIMER;
inline constexpr uint64_t MIP_MTIP = 1ull << IRQ_M_TIMER;
inline constexpr uint64_t MIP_SEIP = 1ull << IRQ_S_EXT;
inline constexpr uint64_t MIP_MEIP = 1ull << IRQ_M_EXT;
inline constexpr uint64_t S_INTERRUPTS = MIP_SSIP | MIP_STIP | MIP_SEIP;
inline constexpr uint64_t ALL_INTERRUPTS = S_INTERRUPTS | MIP_MSIP | MIP_MTIP | MIP_MEIP;
inline constexpr uint64_t MIP_VSSIP = 1ull << IRQ_VS_SOFT;
inline constexpr uint64_t MIP_VSTIP = 1ull << IRQ_VS_TIMER;
inline constexpr uint64_t MIP_VSEIP = 1ull << IRQ_VS_EXT;
inline constexpr uint64_t MIP_SGEIP = 1ull << IRQ_S_GEXT;
inline constexpr uint64_t VS_INTERRUPTS = MIP_VSSIP | MIP_VSTIP | MIP_VSEIP;
// With GEILEN = 0 (no guest external interrupt files) SGEIP and SGEIE are read-only zero, so
// the VS-level bits are all the H extension adds to mip/mie; mideleg has them read-only one
// (§8.4.1).

enum Exception : uint64_t {
    EXC_INST_MISALIGNED = 0,
    EXC_INST_ACCESS = 1,
    EXC_ILLEGAL_INST = 2,
    EXC_BREAKPOINT = 3,
    EXC_LOAD_MISALIGNED = 4,
    EXC_LOAD_ACCESS = 5,
    EXC_STORE_MISALIGNED = 6,
    EXC_STORE_ACCESS = 7,
    EXC_ECALL_U = 8,
    EXC_ECALL_S = 9,
    EXC_ECALL_VS = 10,
    EXC_ECALL_M = 11,
    EXC_INST_PAGE_FAULT = 12,
    EXC_LOAD_PAGE_FAULT = 13,
    EXC_STORE_PAGE_FAULT = 15,
    EXC_INST_GUEST_PAGE_FAULT = 20,
    EXC_LOAD_GUEST_PAGE_FAULT = 21,
    EXC_VIRTUAL_INST = 22,
    EXC_STORE_GUEST_PAGE_FAULT = 23,
};
inline constexpr uint64_t CAUSE_INTERRUPT = 1ull << 63;

// menvcfg fields — priv spec §3.1.18.
inline constexpr uint64_t MENVCFG_FIOM = 1ull << 0;
inline constexpr uint64_t MENVCFG_CBIE = 3ull << 4;
inline constexpr uint64_t MENVCFG_CBCFE = 1ull << 6;
inline constexpr uint64_t MENVCFG_CBZE = 1ull << 7;
inline constexpr uint64_t MENVCFG_STCE = 1ull << 63;  // Sstc

// hstatus fields — priv spec §8.2.1.
inline constexpr uint64_t HSTATUS_VSBE = 1ull << 5;
inline constexpr uint64_t HSTATUS_GVA = 1ull << 6;
inline constexpr uint64_t HSTATUS_SPV = 1ull << 7;
inline constexpr uint64_t HSTATUS_SPVP = 1ull << 8;
inline constexpr uint64_t HSTATUS_HU = 1ull << 9;
inline constexpr uint64_t HSTATUS_VGEIN = 0x3full << 12;
inline constexpr uint64_t HSTATUS_VTVM = 1ull << 20;
inline constexpr uint64_t HSTATUS_VTW = 1ull << 21;
inline constexpr uint64_t HSTATUS_VTSR = 1ull << 22;
inline constexpr uint64_t HSTATUS_VSXL = 3ull << 32;

// hgatp — priv spec §8.2.10: MODE Bare or Sv39x4/Sv48x4/Sv57x4 (satp's mode numbers), VMID.
inline constexpr uint64_t HGATP_MODE_SV39X4 = 8;
inline constexpr uint64_t HGATP_MODE_SV48X4 = 9;
inline constexpr uint64_t HGATP_MODE_SV57X4 = 10;

// satp — priv spec §4.1.11.
inline constexpr uint64_t SATP_MODE_BARE = 0;
inline constexpr uint64_t SATP_MODE_SV39 = 8;
inline constexpr uint64_t SATP_MODE_SV48 = 9;
inline constexpr uint64_t SATP_MODE_SV57 = 10;
inline constexpr unsigned SATP_ASID_SHIFT = 44;
inline constexpr unsigned kAsidBits = 11;  // ASIDLEN: WARL, fewer than 16 bits are allowed (§4.1.11)
inline constexpr uint64_t SATP_PPN_MASK = (1ull << 44) - 1;

// fcsr — unpriv spec §11.2.
inline constexpr uint32_t FFLAG_NX = 1;
inline constexpr uint32_t FFLAG_UF = 2;
inline constexpr uint32_t FFLAG_OF = 4;
inline constexpr uint32_t FFLAG_DZ = 8;
inline constexpr uint32_t FFLAG_NV = 16;

}  // namespace trapeze::rv64::csr
