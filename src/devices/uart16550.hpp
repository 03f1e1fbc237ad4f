// Uart16550: an NS16550A UART as Linux's 8250 driver and OpenSBI's uart8250 use it
// (reg-shift 0, one byte per register, 8 registers).
//
// The transmitter is infinitely fast: a byte written to THR goes straight to the
// backend, so THR is empty again at once and LSR.THRE/TEMT always read 1. Received
// bytes wait in a FIFO (larger than the chip's 16 bytes so pasted text is not lost)
// until the guest reads RBR. Loopback (MCR bit 4) and modem-status changes are not
// modelled; MSR reports CTS, DSR and DCD asserted, as a cable with a terminal would.
//
// Register reference: TI PC16550D datasheet (SNLS378C), §8.6 "Register Description";
// interrupt priorities from Table 3 (IIR).
//
// Snapshots: State holds the receive ring as it lies (bytes, head, count) and every register;
// restore drives the interrupt line.
//
// Thread: all calls (MMIO, push_input, can_accept_input) are serialised by the caller,
// the machine's hart thread; the device is not re-entrant. The backend is called from
// mmio_write and must not call back into the device.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>

#include "base/result.hpp"
#include "bus/irq_line.hpp"
#include "bus/mmio_device.hpp"
#include "snapshot/state_stream.hpp"

namespace trapeze::devices {

class Uart16550 final : public MmioDevice {
public:
    using TxBackend = std::function<void(uint8_t)>;

    static constexpr uint64_t kWindowSize = 0x100;
    static constexpr size_t kRxBufferSize = 256;

    struct State {
        std::array<uint8_t, kRxBufferSize> rx{};
        uint16_t rx_head = 0;
        uint16_t rx_count = 0;
        uint8_t ier = 0;
        uint8_t fcr = 0;
        uint8_t lcr = 0;
        uint8_t mcr = 0;
        uint8_t lsr_errors = 0;
        uint8_t scr = 0;
        uint8_t dll = 0;
        uint8_t dlm = 0;
        bool thr_ipending = false;
        bool irq_level = false;

        void write(snapshot::StateWriter& w) const;
        // Refuses bits the registers cannot hold, a ring position out of range, and an irq
        // level that does not follow from the rest.
        static State read(snapshot::StateReader& r);
    };

    // `irq` is driven high while an enabled interrupt is pending (wire it to the PLIC source).
    // `tx` receives every byte the guest transmits; it may be empty (bytes are dropped).
    Uart16550(IrqLine& irq, TxBackend tx);
    Uart16550(const Uart16550&) = delete;
    Uart16550& operator=(const Uart16550&) = delete;

    uint64_t mmio_read(uint64_t offset, unsigned size) override;
    void mmio_write(uint64_t offset, uint64_t value, unsigned size) override;

    // Input from the host side. push_input on a full receiver sets LSR.OE and drops the byte,
    // as the chip does on overrun; callers check can_accept_input() first.
    bool can_accept_input() const;
    void push_input(uint8_t byte);

    State save() const;
    // Applies `s` (checked as read() does) and drives the interrupt line to its level.
    Result<void> restore(const State& s);

private:
    uint8_t read_register(unsigned reg);
    void write_register(unsigned reg, uint8_t value);
    uint8_t read_rbr();
    uint8_t read_iir();
    uint8_t read_lsr();
    uint8_t read_msr() const;
    void write_thr(uint8_t value);
    void write_ier(uint8_t value);
    void write_fcr(uint8_t value);
    uint8_t pending_interrupt_id() const;
    size_t rx_capacity() const;
    bool dlab() const;
    void clear_rx();
    void update_irq();

    IrqLine& m_irq;
    TxBackend m_tx;

    std::array<uint8_t, kRxBufferSize> m_rx{};  // ring buffer
    size_t m_rx_head = 0;
    size_t m_rx_count = 0;

    uint8_t m_ier = 0;
    uint8_t m_fcr = 0;  // write-only on the chip; kept for the FIFO enable and trigger level
    uint8_t m_lcr = 0;
    uint8_t m_mcr = 0;
    uint8_t m_lsr_errors = 0;  // OE (the only error we can produce), cleared by reading LSR
    uint8_t m_scr = 0;
    uint8_t m_dll = 0;
    uint8_t m_dlm = 0;
    bool m_thr_ipending = false;  // "THR empty" interrupt latched, see write_ier()/read_iir()
    bool m_irq_level = false;
};

}  // namespace trapeze::devices
