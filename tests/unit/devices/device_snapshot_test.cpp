// Board devices' snapshot States: each test drives a device through its registers, saves it,
// sends the State through its byte encoding, restores it into a fresh device and checks the
// fresh one behaves as the old one from then on; and that bad encodings are refused.
#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

#include "../snapshot/state_roundtrip.hpp"
#include "devices/clint.hpp"
#include "devices/goldfish_rtc.hpp"
#include "devices/plic.hpp"
#include "devices/uart16550.hpp"
#include "irq_probe.hpp"

namespace trapeze {
namespace {

using devices::test::IrqProbe;

using snapshot::test::decode;
using snapshot::test::encode;

template <typename State>
State round_trip(const State& s) {
    auto d = decode<State>(encode(s));
    EXPECT_TRUE(d.ok()) << (d.ok() ? "" : d.error().message);
    return d.ok() ? std::move(d.value()) : State{};
}

// ---- CLINT -----------------------------------------------------------------------------

constexpr uint64_t kMtimecmp = 0x4000;

struct ClintBoard {
    explicit ClintBoard(const GuestClock& clock, unsigned harts = 2) : clint(clock, harts) {
        for (unsigned h = 0; h < 2 && h < harts; ++h) {
            clint.msip(h).connect([this, h](bool l) { msip[h] = l; });
            clint.mtip(h).connect([this, h](bool l) { mtip[h] = l; });
        }
    }
    devices::Clint clint;
    std::array<bool, 2> msip{};
    std::array<bool, 2> mtip{};
};

TEST(ClintSnapshot, RestoresCompareValuesAndSoftwareInterruptsAndDrivesTheLines) {
    GuestClock clock;
    ClintBoard a(clock);
    a.clint.mmio_write(0x4, 1, 4);                     // msip[1]
    a.clint.mmio_write(kMtimecmp, 0, 8);               // hart 0: due (MTIP high)
    a.clint.mmio_write(kMtimecmp + 8, 1ull << 62, 8);  // hart 1: far future
    const auto s = round_trip(a.clint.save());

    ClintBoard b(clock);
    ASSERT_TRUE(b.clint.restore(s).ok());
    EXPECT_EQ(b.msip, (std::array<bool, 2>{false, true}));
    EXPECT_EQ(b.mtip, (std::array<bool, 2>{true, false}));
    for (uint64_t off : {uint64_t{0}, uint64_t{4}, kMtimecmp, kMtimecmp + 4, kMtimecmp + 8, kMtimecmp + 12})
        EXPECT_EQ(b.clint.mmio_read(off, 4), a.clint.mmio_read(off, 4)) << off;
    EXPECT_EQ(b.clint.next_deadline(), 1ull << 62);
    // And it goes on as the old one: clearing msip lowers the line.
    b.clint.mmio_write(0x4, 0, 4);
    EXPECT_FALSE(b.msip[1]);
}

TEST(ClintSnapshot, RefusesAStateForAnotherHartCount) {
    GuestClock clock;
    ClintBoard a(clock, 2);
    ClintBoard b(clock, 1);
    const auto r = b.clint.restore(round_trip(a.clint.save()));
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("2 harts"), std::string::npos) << r.error().message;
}

TEST(ClintSnapshot, RefusesTruncatedBytesABadBooleanAndAnOversizedCount) {
    GuestClock clock;
    ClintBoard a(clock);
    auto bytes = encode(a.clint.save());
    EXPECT_FALSE(decode<devices::Clint::State>(std::span(bytes).first(bytes.size() - 1)).ok());
    auto bad_bool = bytes;
    bad_bool[4 + 8] = 2;  // hart 0's msip
    EXPECT_FALSE(decode<devices::Clint::State>(bad_bool).ok());
    auto huge = bytes;
    huge[0] = huge[1] = huge[2] = huge[3] = 0xff;
    EXPECT_FALSE(decode<devices::Clint::State>(huge).ok());
}

// ---- PLIC ------------------------------------------------------------------------------

constexpr uint64_t kPending = 0x1000;
constexpr uint64_t kEnable = 0x2000;
constexpr uint64_t kContext = 0x200000;

struct PlicBoard {
    explicit PlicBoard(unsigned harts = 2) : plic(harts) {
        for (unsigned c = 0; c < 4 && c < plic.num_contexts(); ++c)
            plic.context_irq(c).connect([this, c](bool l) { eip[c] = l; });
    }
    uint32_t rd(uint64_t off) { return static_cast<uint32_t>(plic.mmio_read(off, 4)); }
    void wr(uint64_t off, uint32_t v) { plic.mmio_write(off, v, 4); }
    uint32_t claim(unsigned ctx) { return rd(kContext + 0x1000 * ctx + 4); }
    void complete(unsigned ctx, uint32_t id) { wr(kContext + 0x1000 * ctx + 4, id); }

    devices::Plic plic;
    std::array<bool, 4> eip{};
};

TEST(PlicSnapshot, RestoresPrioritiesLevelsClaimsAndContextsAndDrivesTheLines) {
    PlicBoard a;
    a.wr(4 * 10, 3);
    a.wr(4 * 33, 5);
    a.wr(4 * 40, 2);
    a.wr(kEnable + 0x80 * 1, 1u << 10);     // context 1: source 10
    a.wr(kEnable + 0x80 * 1 + 4, 1u << 1);  // and 33
    a.wr(kEnable + 0x80 * 2 + 4, 1u << 8);  // context 2: source 40
    a.wr(kContext + 0x1000 * 3, 6);         // context 3: threshold 6
    a.plic.source(10).raise();
    a.plic.source(33).raise();
    a.plic.source(40).raise();
    ASSERT_EQ(a.claim(1), 33u);  // 33 in service; 10 still pending for context 1
    ASSERT_EQ(a.eip, (std::array<bool, 4>{false, true, true, false}));
    const auto s = round_trip(a.plic.save());

    PlicBoard b;
    ASSERT_TRUE(b.plic.restore(s).ok());
    EXPECT_EQ(b.eip, a.eip);
    for (uint64_t off : {uint64_t{4 * 10}, uint64_t{4 * 33}, uint64_t{4 * 40}, kPending, kPending + 4, kEnable + 0x80,
                         kEnable + 0x84, kEnable + 0x100 + 4, kContext + 0x3000})
        EXPECT_EQ(b.rd(off), a.rd(off)) << off;
    // The claim and completion go on as before: 10 next, and 33 pending again when completed
    // (its line is still high).
    EXPECT_EQ(b.claim(1), 10u);
    b.complete(1, 33);
    EXPECT_EQ(b.claim(1), 33u);
    // The restored source levels are live: lowering 40 drops context 2.
    b.plic.source(40).lower();
    EXPECT_FALSE(b.eip[2]);
}

TEST(PlicSnapshot, RefusesAStateForAnotherHartCount) {
    PlicBoard a(2);
    PlicBoard b(1);
    const auto r = b.plic.restore(round_trip(a.plic.save()));
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("4 contexts"), std::string::npos) << r.error().message;
}

TEST(PlicSnapshot, RefusesOutOfRangeRegistersAndAnEipThatDoesNotFollow) {
    PlicBoard a;
    a.wr(4 * 5, 1);
    a.wr(kEnable, 1u << 5);
    a.plic.source(5).raise();
    const auto good = a.plic.save();
    ASSERT_TRUE(good.contexts[0].eip);

    auto priority = good;
    priority.priority[5] = 8;
    EXPECT_FALSE(decode<devices::Plic::State>(encode(priority)).ok());
    auto source0 = good;
    source0.level[0] |= 1;
    EXPECT_FALSE(decode<devices::Plic::State>(encode(source0)).ok());
    auto eip = good;
    eip.contexts[0].eip = false;
    EXPECT_FALSE(decode<devices::Plic::State>(encode(eip)).ok());
    auto bytes = encode(good);
    EXPECT_FALSE(decode<devices::Plic::State>(std::span(bytes).first(bytes.size() - 1)).ok());
    bytes.back() = 2;  // the last context's eip boolean
    EXPECT_FALSE(decode<devices::Plic::State>(bytes).ok());
}

// ---- UART ------------------------------------------------------------------------------

constexpr uint64_t RBR = 0, IER = 1, IIR = 2, FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7;

struct UartBoard {
    uint8_t rd(uint64_t reg) { return static_cast<uint8_t>(uart.mmio_read(reg, 1)); }
    void wr(uint64_t reg, uint8_t v) { uart.mmio_write(reg, v, 1); }

    IrqProbe irq;
    std::string sent;
    devices::Uart16550 uart{irq.line, [this](uint8_t b) { sent.push_back(static_cast<char>(b)); }};
};

// A UART as Linux leaves it mid-session: divisor, 8N1, FIFO with trigger 4, modem lines,
// and input that wrapped around the receive ring.
void drive_uart(UartBoard& u) {
    u.wr(LCR, 0x80);
    u.wr(0, 0x0c);  // DLL
    u.wr(1, 0x01);  // DLM
    u.wr(LCR, 0x03);
    u.wr(FCR, 0x41);
    u.wr(MCR, 0x0b);
    u.wr(SCR, 0x5a);
    for (int i = 0; i < 254; ++i) u.uart.push_input(static_cast<uint8_t>(i));
    for (int i = 0; i < 254; ++i) u.rd(RBR);
    for (const char c : std::string("hello")) u.uart.push_input(static_cast<uint8_t>(c));  // wraps
    u.wr(IER, 0x07);                                                                       // RDA, THRE, RLS
}

TEST(UartSnapshot, RestoresRegistersAndTheWrappedReceiveRingAndDrivesTheLine) {
    UartBoard a;
    drive_uart(a);
    ASSERT_TRUE(a.irq.level);
    const auto s = round_trip(a.uart.save());

    UartBoard b;
    ASSERT_TRUE(b.uart.restore(s).ok());
    EXPECT_TRUE(b.irq.level);
    EXPECT_EQ(b.irq.changes, 1);
    // Register by register, then the received bytes, on both devices in the same order.
    for (uint64_t reg : {IER, LCR, MCR, MSR, SCR, IIR, LSR}) EXPECT_EQ(b.rd(reg), a.rd(reg)) << reg;
    std::string got;
    while (b.rd(LSR) & 1) got.push_back(static_cast<char>(b.rd(RBR)));
    EXPECT_EQ(got, "hello");
    b.wr(LCR, 0x83);
    EXPECT_EQ(b.rd(0), 0x0c);
    EXPECT_EQ(b.rd(1), 0x01);
    b.wr(LCR, 0x03);
    // THRE latched again after a transmit: the IIR sequence continues as on the old device.
    b.wr(0, 'x');
    EXPECT_EQ(b.sent, "x");
    EXPECT_EQ(b.rd(IIR) & 0x0f, 0x02);
    EXPECT_FALSE(b.irq.level);
}

TEST(UartSnapshot, KeepsAnOverrunAndALowLineLow) {
    UartBoard a;
    a.uart.push_input('a');
    a.uart.push_input('b');  // no FIFO: overrun
    const auto s = round_trip(a.uart.save());
    UartBoard b;
    b.irq.level = true;  // whatever the pin held: restore drives it
    ASSERT_TRUE(b.uart.restore(s).ok());
    EXPECT_FALSE(b.irq.level);
    EXPECT_EQ(b.rd(LSR) & 0x03, 0x03);  // DR and OE
    EXPECT_EQ(b.rd(RBR), 'a');
}

TEST(UartSnapshot, RefusesImpossibleRegistersRingPositionsAndLevels) {
    UartBoard a;
    drive_uart(a);
    const auto good = a.uart.save();
    auto head = good;
    head.rx_head = 256;
    auto count = good;
    count.fcr = 0;  // no FIFO holds one byte, not five
    auto ier = good;
    ier.ier = 0x10;
    auto level = good;
    level.irq_level = false;
    auto thre = good;
    thre.ier = 0x01;  // THRE latched without ETBEI
    for (const auto* bad : {&head, &count, &ier, &level, &thre}) {
        EXPECT_FALSE(decode<devices::Uart16550::State>(encode(*bad)).ok());
        UartBoard b;
        EXPECT_FALSE(b.uart.restore(*bad).ok());
    }
    auto bytes = encode(good);
    EXPECT_FALSE(decode<devices::Uart16550::State>(std::span(bytes).first(bytes.size() - 1)).ok());
    bytes[bytes.size() - 2] = 2;  // thr_ipending
    EXPECT_FALSE(decode<devices::Uart16550::State>(bytes).ok());
}

// ---- Goldfish RTC ----------------------------------------------------------------------

constexpr uint64_t TIME_LOW = 0x00, TIME_HIGH = 0x04, ALARM_LOW = 0x08, ALARM_HIGH = 0x0c, IRQ_ENABLED = 0x10,
                   ALARM_STATUS = 0x18, CLEAR_INTERRUPT = 0x1c;

struct RtcBoard {
    uint64_t rd(uint64_t off) { return rtc.mmio_read(off, 4); }
    void wr(uint64_t off, uint64_t v) { rtc.mmio_write(off, v, 4); }

    uint64_t host_ns = 5'000'000'000;
    IrqProbe irq;
    devices::GoldfishRtc rtc{irq.line, [this] { return host_ns; }};
};

TEST(RtcSnapshot, RestoresTheOffsetLatchAlarmAndInterruptAndFollowsHostTime) {
    RtcBoard a;
    a.wr(TIME_HIGH, 0x10);
    a.wr(TIME_LOW, 0x2000);  // guest time 0x10'0000'2000
    a.wr(IRQ_ENABLED, 1);
    a.wr(ALARM_HIGH, 0);
    a.wr(ALARM_LOW, 1);  // in the past: fires at once
    ASSERT_TRUE(a.irq.level);
    a.wr(ALARM_HIGH, 0x20);
    a.wr(ALARM_LOW, 0);  // armed for later
    a.rd(TIME_LOW);      // latches TIME_HIGH
    const auto s = round_trip(a.rtc.save());

    RtcBoard b;
    b.host_ns = a.host_ns + 7'000;  // the snapshot lay for 7 µs of host time
    ASSERT_TRUE(b.rtc.restore(s).ok());
    EXPECT_TRUE(b.irq.level);
    EXPECT_EQ(b.rd(TIME_HIGH), 0x10u);  // the latch, not a new read
    for (uint64_t off : {ALARM_LOW, ALARM_HIGH, IRQ_ENABLED, ALARM_STATUS}) EXPECT_EQ(b.rd(off), a.rd(off)) << off;
    EXPECT_EQ(b.rd(TIME_LOW), 0x2000u + 7'000u);  // wall time went on with the host's
    b.wr(CLEAR_INTERRUPT, 1);
    EXPECT_FALSE(b.irq.level);
    EXPECT_EQ(b.rtc.ns_until_alarm(), (0x20ull << 32) - (0x10'0000'2000ull + 7'000));
}

TEST(RtcSnapshot, RefusesTruncatedBytesABadBooleanAndALevelThatDoesNotFollow) {
    RtcBoard a;
    auto good = a.rtc.save();
    auto bytes = encode(good);
    EXPECT_FALSE(decode<devices::GoldfishRtc::State>(std::span(bytes).first(bytes.size() - 1)).ok());
    auto bad_bool = bytes;
    bad_bool[20] = 2;  // alarm_running
    EXPECT_FALSE(decode<devices::GoldfishRtc::State>(bad_bool).ok());
    good.irq_level = true;  // neither pending nor enabled
    EXPECT_FALSE(decode<devices::GoldfishRtc::State>(encode(good)).ok());
}

}  // namespace
}  // namespace trapeze
