// virtio-console across a snapshot: the input it had not delivered yet survives, and the
// restored device goes on with the rings where the old one left them.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "ring_transport.hpp"
#include "virtio/console/virtio_console.hpp"

namespace trapeze::virtio::test {
namespace {

constexpr uint16_t kRx = VirtioConsole::kRxQueue;
constexpr uint16_t kTx = VirtioConsole::kTxQueue;

std::vector<uint8_t> bytes(std::string_view s) {
    return {s.begin(), s.end()};
}

// One console slot over the guest's RAM; reopen() drops the device for a fresh one.
struct ConsoleSlot {
    explicit ConsoleSlot(RingGuest& guest) : g(guest) { reopen(); }
    void reopen() {
        t.reset();
        output.clear();
        auto c =
            std::make_unique<VirtioConsole>([this](std::span<const uint8_t> b) { output.append(b.begin(), b.end()); });
        console = c.get();
        t = std::make_unique<VirtioMmioTransport>(g.mem, irq, std::move(c));
    }
    void type(std::string_view s) {
        for (const char ch : s) console->push_input(static_cast<uint8_t>(ch));
    }

    RingGuest& g;
    IrqLine irq;
    std::string output;
    VirtioConsole* console = nullptr;
    std::unique_ptr<VirtioMmioTransport> t;
};

TEST(VirtioConsoleSnapshot, InputNotYetDeliveredReachesTheGuestAfterRestore) {
    RingGuest g{2};
    ConsoleSlot slot(g);
    ASSERT_EQ(init_transport(*slot.t, g, 2, kCommonFeatures), kDriverOkStatus);
    g.post(kTx, {g.readable(bytes("hi"))});
    notify(*slot.t, kTx);
    ASSERT_EQ(slot.output, "hi");
    const Buf rx = g.writable(8);
    g.post(kRx, {rx});  // posted; the input below arrives before the next poll()
    slot.type("abc");
    const auto s = through_bytes(slot.t->save());

    slot.reopen();
    ASSERT_TRUE(slot.t->restore(s).ok());
    EXPECT_EQ(slot.console->pending_input(), 3u);
    slot.t->kick();
    ASSERT_EQ(g.used_idx(kRx), 1);
    EXPECT_EQ(g.used(kRx, 0).len, 3u);
    EXPECT_EQ(g.read(rx.gpa, 3), bytes("abc"));
    EXPECT_EQ(slot.console->pending_input(), 0u);
    g.post(kTx, {g.readable(bytes("yo"))});
    notify(*slot.t, kTx);
    EXPECT_EQ(slot.output, "yo");
    EXPECT_EQ(g.used_idx(kTx), 2);
}

TEST(VirtioConsoleSnapshot, InputTypedBeforeTheDriverCameUpIsKept) {
    RingGuest g{2};
    ConsoleSlot slot(g);
    slot.type("early");
    const auto s = through_bytes(slot.t->save());
    EXPECT_FALSE(s.activated);
    slot.reopen();
    ASSERT_TRUE(slot.t->restore(s).ok());
    EXPECT_EQ(slot.console->pending_input(), 5u);
}

TEST(VirtioConsoleSnapshot, RefusesTooMuchInputABadBooleanAndTruncatedState) {
    VirtioConsole console({});
    const auto refused = [&console](const std::vector<uint8_t>& state) {
        snapshot::StateReader r(state, "console");
        return !console.restore_state(r).ok();
    };
    snapshot::StateWriter w;
    w.bytes(std::vector<uint8_t>(VirtioConsole::kInputBufferSize + 1, 'x'));
    w.boolean(false);
    EXPECT_TRUE(refused(w.take()));
    snapshot::StateWriter b;
    b.bytes(bytes("ok"));
    b.u8(2);
    EXPECT_TRUE(refused(b.take()));
    snapshot::StateWriter t;
    t.bytes(bytes("ok"));
    EXPECT_TRUE(refused(t.take()));
    EXPECT_EQ(console.pending_input(), 0u) << "a refused state changes nothing";
}

}  // namespace
}  // namespace trapeze::virtio::test
