#include "virtio/console/virtio_console.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "ring_guest.hpp"

namespace trapeze::virtio::test {
namespace {

constexpr uint16_t kRx = VirtioConsole::kRxQueue;
constexpr uint16_t kTx = VirtioConsole::kTxQueue;

std::vector<uint8_t> bytes(std::string_view s) { return {s.begin(), s.end()}; }

struct ConsoleFixture {
    ConsoleFixture() : console([this](std::span<const uint8_t> b) { output.append(b.begin(), b.end()); }) {}
    void type(std::string_view s) {
        for (const char c : s) console.push_input(static_cast<uint8_t>(c));
    }

    std::string output;
    RingGuest guest{2};
    VirtioConsole console;
};

TEST(VirtioConsole, IsASinglePortConsoleWithEmergencyWrite) {
    ConsoleFixture f;
    EXPECT_EQ(f.console.device_id(), 3u);
    EXPECT_EQ(f.console.queue_count(), 2);
    const uint64_t features = f.console.device_features();
    EXPECT_EQ(features & feature_bit(VIRTIO_CONSOLE_F_MULTIPORT), 0u);
    EXPECT_NE(features & feature_bit(VIRTIO_CONSOLE_F_EMERG_WRITE), 0u);
}

TEST(VirtioConsole, TransmittedBytesReachTheSinkInOrder) {
    ConsoleFixture f;
    f.guest.activate(f.console);
    f.guest.post(kTx, {f.guest.readable(bytes("Linux ")), f.guest.readable(bytes("version"))});
    f.guest.post(kTx, {f.guest.readable(bytes(" 6.1\n"))});
    f.console.process_queue(kTx);
    EXPECT_EQ(f.output, "Linux version 6.1\n");
    EXPECT_EQ(f.guest.used_idx(kTx), 2);
    EXPECT_EQ(f.guest.used(kTx, 0).len, 0u);
    EXPECT_EQ(f.guest.signals.used, std::vector<uint16_t>{kTx});
}

TEST(VirtioConsole, StreamsAChainOfWholeRamBuffersInBoundedPiecesStraightFromGuestRam) {
    // The hostile chain of issue 20: every descriptor covers all of guest RAM. Nothing may be
    // gathered into a host buffer; the sink sees guest RAM itself, a bounded piece at a time.
    size_t total = 0;
    size_t largest = 0;
    bool in_ram = true;
    RingGuest guest{2};
    const uint8_t* ram = guest.mem.host_base();
    VirtioConsole console([&](std::span<const uint8_t> b) {
        total += b.size();
        largest = std::max(largest, b.size());
        in_ram = in_ram && b.data() >= ram && b.data() + b.size() <= ram + guest.mem.size();
    });
    guest.activate(console);
    constexpr int kDescriptors = 8;
    const Buf all_ram{Gpa(RingGuest::kRamBase), static_cast<uint32_t>(RingGuest::kRamSize), false};
    guest.post(kTx, std::vector<Buf>(kDescriptors, all_ram));
    console.process_queue(kTx);
    EXPECT_EQ(total, kDescriptors * RingGuest::kRamSize);
    EXPECT_LE(largest, VirtioConsole::kTxPiece);
    EXPECT_TRUE(in_ram) << "output was copied to the host before reaching the sink";
    EXPECT_EQ(guest.used_idx(kTx), 1);
}

TEST(VirtioConsole, EmergencyWriteOutputsOneByte) {
    ConsoleFixture f;
    const uint8_t value[4] = {'!', 0, 0, 0};
    f.console.write_config(8, value);
    EXPECT_EQ(f.output, "!");
}

TEST(VirtioConsole, InputLandsInTheGuestsReceiveBuffer) {
    ConsoleFixture f;
    f.guest.activate(f.console);
    const Buf b = f.guest.writable(64);
    f.guest.post(kRx, {b});
    f.type("ls\r");
    f.console.poll();
    ASSERT_EQ(f.guest.used_idx(kRx), 1);
    EXPECT_EQ(f.guest.used(kRx, 0).len, 3u);
    EXPECT_EQ(f.guest.read(b.gpa, 3), bytes("ls\r"));
    EXPECT_EQ(f.guest.signals.used, std::vector<uint16_t>{kRx});
}

TEST(VirtioConsole, InputWaitsForBuffersAndIsSplitAcrossThem) {
    ConsoleFixture f;
    f.guest.activate(f.console);
    f.type("hello");
    f.console.poll();
    EXPECT_EQ(f.guest.used_idx(kRx), 0);
    EXPECT_EQ(f.console.pending_input(), 5u);
    const Buf a = f.guest.writable(2);
    const Buf b = f.guest.writable(8);
    f.guest.post(kRx, {a});
    f.guest.post(kRx, {b});
    f.console.process_queue(kRx);  // the driver's notification
    ASSERT_EQ(f.guest.used_idx(kRx), 2);
    EXPECT_EQ(f.guest.read(a.gpa, 2), bytes("he"));
    EXPECT_EQ(f.guest.used(kRx, 1).len, 3u);
    EXPECT_EQ(f.guest.read(b.gpa, 3), bytes("llo"));
    EXPECT_EQ(f.console.pending_input(), 0u);
}

TEST(VirtioConsole, StopsAcceptingInputWhenItsBufferIsFullSoNothingIsLost) {
    ConsoleFixture f;
    for (size_t i = 0; i < VirtioConsole::kInputBufferSize; ++i) {
        ASSERT_TRUE(f.console.can_accept_input());
        f.console.push_input('x');
    }
    EXPECT_FALSE(f.console.can_accept_input());
    // Typed before the driver came up: delivered once it does.
    const Buf b = f.guest.writable(VirtioConsole::kInputBufferSize);
    f.guest.post(kRx, {b});
    f.guest.activate(f.console);
    EXPECT_EQ(f.guest.used(kRx, 0).len, VirtioConsole::kInputBufferSize);
    EXPECT_TRUE(f.console.can_accept_input());
}

TEST(VirtioConsole, ConfigSpaceReadsAsZero) {
    ConsoleFixture f;
    std::vector<uint8_t> config(12, 0xff);
    f.console.read_config(0, config);
    EXPECT_EQ(config, std::vector<uint8_t>(12, 0));
}

}  // namespace
}  // namespace trapeze::virtio::test
