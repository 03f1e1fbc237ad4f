#include "devices/uart16550.hpp"

#include <string>
#include <utility>

namespace trapeze::devices {

namespace {

// Register offsets (PC16550D Table 2). LCR.DLAB selects DLL/DLM at offsets 0 and 1.
constexpr unsigned RBR = 0;  // read, DLAB=0
constexpr unsigned THR = 0;  // write, DLAB=0
constexpr unsigned IER = 1;  // DLAB=0
constexpr unsigned IIR = 2;  // read
constexpr unsigned FCR = 2;  // write
constexpr unsigned LCR = 3;
constexpr unsigned MCR = 4;
constexpr unsigned LSR = 5;
constexpr unsigned MSR = 6;
constexpr unsigned SCR = 7;
constexpr unsigned kNumRegisters = 8;

constexpr uint8_t IER_ERBFI = 0x01;  // received data available
constexpr uint8_t IER_ETBEI = 0x02;  // transmitter holding register empty
constexpr uint8_t IER_ELSI = 0x04;   // receiver line status
constexpr uint8_t IER_MASK = 0x0f;   // bit 3 EDSSI (modem status); bits 7:4 read as 0

constexpr uint8_t IIR_NO_INT = 0x01;         // bit 0: 1 = no interrupt pending
constexpr uint8_t IIR_RLS = 0x06;            // priority 1: receiver line status
constexpr uint8_t IIR_RDA = 0x04;            // priority 2: received data available
constexpr uint8_t IIR_CTI = 0x0c;            // priority 2: character timeout (FIFO below trigger)
constexpr uint8_t IIR_THRE = 0x02;           // priority 3: THR empty
constexpr uint8_t IIR_FIFOS_ENABLED = 0xc0;  // bits 7:6 set when FCR0 = 1

constexpr uint8_t FCR_FIFO_ENABLE = 0x01;
constexpr uint8_t FCR_RCVR_RESET = 0x02;
constexpr uint8_t FCR_KEPT = 0xc1;  // FIFO enable and RCVR trigger (bits 7:6); resets self-clear

constexpr uint8_t LCR_DLAB = 0x80;

constexpr uint8_t MCR_DTR = 0x01;
constexpr uint8_t MCR_RTS = 0x02;
constexpr uint8_t MCR_OUT1 = 0x04;
constexpr uint8_t MCR_OUT2 = 0x08;
constexpr uint8_t MCR_LOOP = 0x10;
constexpr uint8_t MCR_MASK = 0x1f;

constexpr uint8_t LSR_DR = 0x01;    // data ready
constexpr uint8_t LSR_OE = 0x02;    // overrun error
constexpr uint8_t LSR_THRE = 0x20;  // THR empty
constexpr uint8_t LSR_TEMT = 0x40;  // transmitter empty

constexpr uint8_t MSR_CTS = 0x10;
constexpr uint8_t MSR_DSR = 0x20;
constexpr uint8_t MSR_RI = 0x40;
constexpr uint8_t MSR_DCD = 0x80;

// RCVR trigger levels for FCR bits 7:6 (PC16550D §8.6.3).
constexpr unsigned kTriggerLevels[4] = {1, 4, 8, 14};

// Without FIFOs the receiver holds one character; with them we buffer more than the
// chip's 16 so that input arriving faster than the guest reads it is not dropped.
size_t capacity_for(uint8_t fcr) {
    return (fcr & FCR_FIFO_ENABLE) ? Uart16550::kRxBufferSize : 1;
}

// Below the trigger level a real 16550 reports a character timeout instead of "data
// available" (after four character times; here at once). Drivers treat both alike.
unsigned trigger_level_for(uint8_t fcr) {
    if (!(fcr & FCR_FIFO_ENABLE)) return 1;
    return kTriggerLevels[fcr >> 6];
}

// Highest-priority enabled interrupt (PC16550D Table 3): line status > received data >
// THR empty > modem status. Modem status never changes here, so it is never pending.
uint8_t interrupt_id(uint8_t ier, uint8_t fcr, uint8_t lsr_errors, size_t rx_count, bool thr_ipending) {
    if ((ier & IER_ELSI) && lsr_errors != 0) return IIR_RLS;
    if ((ier & IER_ERBFI) && rx_count > 0) return rx_count >= trigger_level_for(fcr) ? IIR_RDA : IIR_CTI;
    if ((ier & IER_ETBEI) && thr_ipending) return IIR_THRE;
    return IIR_NO_INT;
}

// What the registers can hold, and the invariants the device keeps (THRE latches only with
// ETBEI set; the line follows the pending interrupt). Empty if `s` is one the device can be in.
std::string check_state(const Uart16550::State& s) {
    if ((s.ier & ~IER_MASK) != 0 || (s.fcr & ~FCR_KEPT) != 0 || (s.mcr & ~MCR_MASK) != 0 ||
        (s.lsr_errors & ~LSR_OE) != 0)
        return fmt::format("UART register bits out of range (ier {:#x}, fcr {:#x}, mcr {:#x}, lsr {:#x})", s.ier, s.fcr,
                           s.mcr, s.lsr_errors);
    if (s.rx_head >= Uart16550::kRxBufferSize || s.rx_count > capacity_for(s.fcr))
        return fmt::format("UART receive ring position {}+{} out of range", s.rx_head, s.rx_count);
    if (s.thr_ipending && !(s.ier & IER_ETBEI)) return "UART THR-empty interrupt latched without ETBEI";
    if (s.irq_level != (interrupt_id(s.ier, s.fcr, s.lsr_errors, s.rx_count, s.thr_ipending) != IIR_NO_INT))
        return "UART irq level does not follow from the registers";
    return {};
}

}  // namespace

Uart16550::Uart16550(IrqLine& irq, TxBackend tx) : m_irq(irq), m_tx(std::move(tx)) {}

// Every register is one byte wide. Wider accesses act on the addressed register only
// (the low byte), as QEMU's serial_mm does; offsets past the 8 registers read as 0.
uint64_t Uart16550::mmio_read(uint64_t offset, unsigned /*size*/) {
    if (offset >= kNumRegisters) return 0;
    return read_register(static_cast<unsigned>(offset));
}

void Uart16550::mmio_write(uint64_t offset, uint64_t value, unsigned /*size*/) {
    if (offset >= kNumRegisters) return;
    write_register(static_cast<unsigned>(offset), static_cast<uint8_t>(value));
}

bool Uart16550::can_accept_input() const {
    return m_rx_count < rx_capacity();
}

void Uart16550::push_input(uint8_t byte) {
    if (!can_accept_input()) {
        m_lsr_errors |= LSR_OE;  // the new character is lost (PC16550D §8.6.4, LSR bit 1)
        update_irq();
        return;
    }
    m_rx[(m_rx_head + m_rx_count) % kRxBufferSize] = byte;
    ++m_rx_count;
    update_irq();
}

uint8_t Uart16550::read_register(unsigned reg) {
    switch (reg) {
        case RBR:
            return dlab() ? m_dll : read_rbr();
        case IER:
            return dlab() ? m_dlm : m_ier;
        case IIR:
            return read_iir();
        case LCR:
            return m_lcr;
        case MCR:
            return m_mcr;
        case LSR:
            return read_lsr();
        case MSR:
            return read_msr();
        case SCR:
            return m_scr;
        default:
            return 0;
    }
}

// In loopback the modem inputs follow the MCR outputs (PC16550D §8.6.6), which is what
// drivers' "is a UART there" probes check; otherwise a terminal is attached.
uint8_t Uart16550::read_msr() const {
    if ((m_mcr & MCR_LOOP) == 0) return MSR_CTS | MSR_DSR | MSR_DCD;
    return static_cast<uint8_t>(((m_mcr & MCR_RTS) ? MSR_CTS : 0) | ((m_mcr & MCR_DTR) ? MSR_DSR : 0) |
                                ((m_mcr & MCR_OUT1) ? MSR_RI : 0) | ((m_mcr & MCR_OUT2) ? MSR_DCD : 0));
}

void Uart16550::write_register(unsigned reg, uint8_t value) {
    switch (reg) {
        case THR:
            if (dlab())
                m_dll = value;
            else
                write_thr(value);
            return;
        case IER:
            if (dlab())
                m_dlm = value;
            else
                write_ier(value);
            return;
        case FCR:
            write_fcr(value);
            return;
        case LCR:
            m_lcr = value;
            return;
        case MCR:
            m_mcr = value & MCR_MASK;
            return;
        case SCR:
            m_scr = value;
            return;
        default:
            return;  // LSR and MSR writes are for factory test only: ignored
    }
}

uint8_t Uart16550::read_rbr() {
    if (m_rx_count == 0) return 0;
    const uint8_t byte = m_rx[m_rx_head];
    m_rx_head = (m_rx_head + 1) % kRxBufferSize;
    --m_rx_count;
    update_irq();
    return byte;
}

// Reading IIR clears a THRE interrupt if it is the one reported (PC16550D Table 3,
// "Interrupt Reset Control" for priority 3). The other sources clear at their cause.
uint8_t Uart16550::read_iir() {
    const uint8_t id = pending_interrupt_id();
    if (id == IIR_THRE) {
        m_thr_ipending = false;
        update_irq();
    }
    return static_cast<uint8_t>(id | ((m_fcr & FCR_FIFO_ENABLE) ? IIR_FIFOS_ENABLED : 0));
}

// Reading LSR clears the error bits (PC16550D §8.6.4). THRE and TEMT are always set:
// transmission is instantaneous.
uint8_t Uart16550::read_lsr() {
    const uint8_t lsr = static_cast<uint8_t>((m_rx_count > 0 ? LSR_DR : 0) | m_lsr_errors | LSR_THRE | LSR_TEMT);
    if (m_lsr_errors != 0) {
        m_lsr_errors = 0;
        update_irq();
    }
    return lsr;
}

// Writing THR clears a pending THRE interrupt; the byte leaves at once, THR is empty
// again, and with ETBEI set that emptying latches a new THRE interrupt — Linux's
// 8250 driver relies on it to send the next chunk (serial8250_tx_chars).
void Uart16550::write_thr(uint8_t value) {
    m_thr_ipending = false;
    if (m_tx) m_tx(value);
    if (m_ier & IER_ETBEI) m_thr_ipending = true;
    update_irq();
}

// Setting ETBEI while THR is empty raises a THRE interrupt even if an earlier one was
// cleared by reading IIR: Linux's UART_BUG_THRE probe (serial8250_do_startup) toggles
// IER to check exactly this, and QEMU behaves the same way.
void Uart16550::write_ier(uint8_t value) {
    const uint8_t old = m_ier;
    m_ier = value & IER_MASK;
    const bool etbei_rose = (m_ier & IER_ETBEI) && !(old & IER_ETBEI);
    if (etbei_rose) m_thr_ipending = true;  // THR is always empty here
    if (!(m_ier & IER_ETBEI)) m_thr_ipending = false;
    update_irq();
}

// Changing FCR0 (FIFO enable) clears both FIFOs (PC16550D §8.6.3); bit 1 clears the
// receiver FIFO. The transmitter FIFO is always empty, so bit 2 has nothing to do.
void Uart16550::write_fcr(uint8_t value) {
    const bool toggled = ((value ^ m_fcr) & FCR_FIFO_ENABLE) != 0;
    if (toggled || (value & FCR_RCVR_RESET)) clear_rx();
    m_fcr = value & FCR_KEPT;
    update_irq();
}

uint8_t Uart16550::pending_interrupt_id() const {
    return interrupt_id(m_ier, m_fcr, m_lsr_errors, m_rx_count, m_thr_ipending);
}

size_t Uart16550::rx_capacity() const {
    return capacity_for(m_fcr);
}

bool Uart16550::dlab() const {
    return (m_lcr & LCR_DLAB) != 0;
}

void Uart16550::clear_rx() {
    m_rx_head = 0;
    m_rx_count = 0;
}

void Uart16550::update_irq() {
    const bool level = pending_interrupt_id() != IIR_NO_INT;
    if (level == m_irq_level) return;
    m_irq_level = level;
    m_irq.set_level(level);
}

void Uart16550::State::write(snapshot::StateWriter& w) const {
    w.raw(rx);
    w.u16(rx_head);
    w.u16(rx_count);
    for (const uint8_t reg : {ier, fcr, lcr, mcr, lsr_errors, scr, dll, dlm}) w.u8(reg);
    w.boolean(thr_ipending);
    w.boolean(irq_level);
}

Uart16550::State Uart16550::State::read(snapshot::StateReader& r) {
    State s;
    r.raw(s.rx);
    s.rx_head = r.u16();
    s.rx_count = r.u16();
    for (uint8_t* reg : {&s.ier, &s.fcr, &s.lcr, &s.mcr, &s.lsr_errors, &s.scr, &s.dll, &s.dlm}) *reg = r.u8();
    s.thr_ipending = r.boolean();
    s.irq_level = r.boolean();
    if (r.failed()) return s;
    if (const std::string why = check_state(s); !why.empty()) r.fail(why);
    return s;
}

Uart16550::State Uart16550::save() const {
    State s;
    s.rx = m_rx;
    s.rx_head = static_cast<uint16_t>(m_rx_head);
    s.rx_count = static_cast<uint16_t>(m_rx_count);
    s.ier = m_ier;
    s.fcr = m_fcr;
    s.lcr = m_lcr;
    s.mcr = m_mcr;
    s.lsr_errors = m_lsr_errors;
    s.scr = m_scr;
    s.dll = m_dll;
    s.dlm = m_dlm;
    s.thr_ipending = m_thr_ipending;
    s.irq_level = m_irq_level;
    return s;
}

Result<void> Uart16550::restore(const State& s) {
    if (const std::string why = check_state(s); !why.empty()) return make_error("{}", why);
    m_rx = s.rx;
    m_rx_head = s.rx_head;
    m_rx_count = s.rx_count;
    m_ier = s.ier;
    m_fcr = s.fcr;
    m_lcr = s.lcr;
    m_mcr = s.mcr;
    m_lsr_errors = s.lsr_errors;
    m_scr = s.scr;
    m_dll = s.dll;
    m_dlm = s.dlm;
    m_thr_ipending = s.thr_ipending;
    m_irq_level = s.irq_level;
    m_irq.set_level(m_irq_level);  // IrqLine has no memory: drive it whatever the level
    return ok();
}

}  // namespace trapeze::devices
