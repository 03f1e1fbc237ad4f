#include "devices/uart16550.hpp"

#include <gtest/gtest.h>

#include <string>

#include "irq_probe.hpp"

namespace trapeze {
namespace {

// Register offsets and bits (PC16550D §8.6), spelled as in the datasheet.
constexpr uint64_t RBR = 0, THR = 0, DLL = 0, IER = 1, DLM = 1, IIR = 2, FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6,
                   SCR = 7;
constexpr uint8_t IER_ERBFI = 0x01, IER_ETBEI = 0x02, IER_ELSI = 0x04;
constexpr uint8_t IIR_NO_INT = 0x01, IIR_THRE = 0x02, IIR_RDA = 0x04, IIR_RLS = 0x06, IIR_CTI = 0x0c;
constexpr uint8_t LSR_DR = 0x01, LSR_OE = 0x02, LSR_THRE = 0x20, LSR_TEMT = 0x40;

// Fixture named after the class so tests read "Uart16550.RaisesThre...".
class Uart16550 : public ::testing::Test {
protected:
    uint8_t rd(uint64_t reg) { return static_cast<uint8_t>(uart.mmio_read(reg, 1)); }
    void wr(uint64_t reg, uint8_t v) { uart.mmio_write(reg, v, 1); }
    uint8_t iir_id() { return rd(IIR) & 0x0f; }

    devices::test::IrqProbe irq;
    std::string sent;
    devices::Uart16550 uart{irq.line, [this](uint8_t b) { sent.push_back(static_cast<char>(b)); }};
};

TEST_F(Uart16550, StartsWithNoInterruptAndAnEmptyTransmitter) {
    EXPECT_EQ(rd(IIR), IIR_NO_INT);
    EXPECT_EQ(rd(LSR), LSR_THRE | LSR_TEMT);
    EXPECT_FALSE(irq.level);
}

TEST_F(Uart16550, RaisesThreInterruptWhenTransmitterEmptyAndEnabled) {
    wr(IER, IER_ETBEI);
    EXPECT_TRUE(irq.level);
    EXPECT_EQ(rd(IIR), IIR_THRE);
}

TEST_F(Uart16550, ReadingIirClearsThreInterruptItReports) {
    wr(IER, IER_ETBEI);
    EXPECT_EQ(rd(IIR), IIR_THRE);
    EXPECT_FALSE(irq.level);
    EXPECT_EQ(rd(IIR), IIR_NO_INT);
}

TEST_F(Uart16550, WritingThrSendsTheByteAndRaisesThreAgain) {
    wr(IER, IER_ETBEI);
    rd(IIR);
    wr(THR, 'A');
    EXPECT_EQ(sent, "A");
    EXPECT_TRUE(irq.level);
    EXPECT_EQ(rd(IIR), IIR_THRE);
}

TEST_F(Uart16550, TogglingEtbeiRaisesThreAfterItWasCleared) {
    // Linux's UART_BUG_THRE probe: a real 16550 re-asserts THRE when ETBEI is set again.
    wr(IER, IER_ETBEI);
    rd(IIR);
    wr(IER, 0);
    wr(IER, IER_ETBEI);
    EXPECT_EQ(rd(IIR), IIR_THRE);
}

TEST_F(Uart16550, TransmitsWithoutInterruptWhenEtbeiIsClear) {
    wr(THR, 'x');
    wr(THR, 'y');
    EXPECT_EQ(sent, "xy");
    EXPECT_FALSE(irq.level);
    EXPECT_EQ(rd(IIR), IIR_NO_INT);
}

TEST_F(Uart16550, ReceivedByteRaisesDataAvailableUntilRead) {
    wr(IER, IER_ERBFI);
    uart.push_input('q');
    EXPECT_TRUE(irq.level);
    EXPECT_EQ(rd(IIR), IIR_RDA);
    EXPECT_EQ(rd(LSR) & LSR_DR, LSR_DR);
    EXPECT_EQ(rd(RBR), 'q');
    EXPECT_FALSE(irq.level);
    EXPECT_EQ(rd(LSR) & LSR_DR, 0);
    EXPECT_EQ(rd(IIR), IIR_NO_INT);
}

TEST_F(Uart16550, ReceivedByteSetsDataReadyEvenWithInterruptsOff) {
    uart.push_input('z');
    EXPECT_FALSE(irq.level);
    EXPECT_EQ(rd(LSR) & LSR_DR, LSR_DR);
    EXPECT_EQ(rd(RBR), 'z');
}

TEST_F(Uart16550, ReportsLineStatusThenDataThenThreInPriorityOrder) {
    wr(IER, IER_ERBFI | IER_ETBEI | IER_ELSI);
    uart.push_input('1');
    uart.push_input('2');  // no FIFO: one-character receiver, so this overruns
    EXPECT_EQ(rd(IIR), IIR_RLS);
    EXPECT_EQ(rd(LSR) & LSR_OE, LSR_OE);  // reading LSR clears the error
    EXPECT_EQ(rd(LSR) & LSR_OE, 0);
    EXPECT_EQ(rd(IIR), IIR_RDA);
    EXPECT_EQ(rd(RBR), '1');
    EXPECT_EQ(rd(IIR), IIR_THRE);
}

TEST_F(Uart16550, RefusesInputWhenTheOneCharacterReceiverIsFull) {
    EXPECT_TRUE(uart.can_accept_input());
    uart.push_input('a');
    EXPECT_FALSE(uart.can_accept_input());
    rd(RBR);
    EXPECT_TRUE(uart.can_accept_input());
}

TEST_F(Uart16550, FifoModeShowsInIirAndKeepsBytesInOrder) {
    wr(FCR, 0x07);  // enable and reset both FIFOs
    EXPECT_EQ(rd(IIR) & 0xc0, 0xc0);
    const std::string text = "more than sixteen bytes of input";
    for (char c : text) {
        ASSERT_TRUE(uart.can_accept_input());
        uart.push_input(static_cast<uint8_t>(c));
    }
    std::string got;
    while (rd(LSR) & LSR_DR) got.push_back(static_cast<char>(rd(RBR)));
    EXPECT_EQ(got, text);
}

TEST_F(Uart16550, ReceiverFifoResetDiscardsPendingBytes) {
    wr(FCR, 0x01);
    uart.push_input('a');
    uart.push_input('b');
    wr(FCR, 0x03);
    EXPECT_EQ(rd(LSR) & LSR_DR, 0);
}

TEST_F(Uart16550, ReportsCharacterTimeoutBelowTheTriggerLevel) {
    wr(FCR, 0xc1);  // FIFO on, trigger at 14 bytes
    wr(IER, IER_ERBFI);
    uart.push_input('a');
    EXPECT_EQ(iir_id(), IIR_CTI);
    for (int i = 0; i < 13; ++i) uart.push_input('b');
    EXPECT_EQ(iir_id(), IIR_RDA);
}

TEST_F(Uart16550, DivisorLatchSharesOffsetsWithRbrAndIer) {
    wr(LCR, 0x83);  // DLAB, 8N1
    wr(DLL, 0x01);
    wr(DLM, 0x02);
    EXPECT_EQ(rd(DLL), 0x01);
    EXPECT_EQ(rd(DLM), 0x02);
    EXPECT_TRUE(sent.empty());
    wr(LCR, 0x03);
    EXPECT_EQ(rd(IER), 0);
    EXPECT_EQ(rd(LCR), 0x03);
    wr(THR, 'k');
    EXPECT_EQ(sent, "k");
    wr(LCR, 0x83);
    EXPECT_EQ(rd(DLL), 0x01);
}

TEST_F(Uart16550, ScratchAndModemControlHoldTheirValues) {
    wr(SCR, 0x5a);
    wr(MCR, 0x0b);
    EXPECT_EQ(rd(SCR), 0x5a);
    EXPECT_EQ(rd(MCR), 0x0b);
}

TEST_F(Uart16550, ModemStatusShowsCarrierAndFollowsMcrInLoopback) {
    EXPECT_EQ(rd(MSR), 0xb0);  // DCD, DSR, CTS
    wr(MCR, 0x10 | 0x0a);      // loopback with RTS and OUT2: what Linux's probe writes
    EXPECT_EQ(rd(MSR) & 0xf0, 0x90);
}

TEST_F(Uart16550, IgnoresAccessesOutsideItsRegisters) {
    for (uint64_t off = 8; off < devices::Uart16550::kWindowSize; ++off) {
        for (unsigned size : {1u, 2u, 4u, 8u}) {
            EXPECT_EQ(uart.mmio_read(off, size), 0u);
            uart.mmio_write(off, ~0ull, size);
        }
    }
    EXPECT_EQ(uart.mmio_read(~0ull, 4), 0u);
    EXPECT_TRUE(sent.empty());
    EXPECT_EQ(rd(IIR), IIR_NO_INT);
}

TEST_F(Uart16550, WideAccessesActOnTheAddressedRegister) {
    uart.mmio_write(SCR, 0x1234'5678, 4);
    EXPECT_EQ(uart.mmio_read(SCR, 8), 0x78u);
}

}  // namespace
}  // namespace trapeze
