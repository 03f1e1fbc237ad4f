// libFuzzer target: virtio-net's transmit and receive queues (virtio 1.2 §5.1.6), through the
// virtio-mmio transport, with a fake backend that takes the transmitted frames and hands the
// device the frames the input supplies.
//
// Input: FuzzDriver::init's operands (features, queue sizes), then ops until the input ends:
// the shared driver ops of fuzz_driver.hpp, and op 3, host side, by (op >> 3) & 3:
//   0  one frame from the backend: u16 length, u8 n, n bytes (the rest of the frame a
//      pattern); delivered at once if op bit 5 is set, else at the next poll
//   1  a burst: u16 count (% 2048), u8 length: enough to overflow the receive backlog
//   2  echo on/off (op bit 5): the backend answers every frame it is sent from inside send(),
//      as slirp answers ARP and DHCP
//   3  config read: u8 offset, size 1 << (u8 % 4)
//
// Checked after every op: the interrupt line follows InterruptStatus; every frame sent is at
// most kMaxFrameSize and counted once (stats.tx_frames); every frame the backend delivered is
// accounted for exactly once (delivered, dropped, too big, or waiting in a backlog that never
// exceeds kRxBacklogFrames); every write the device reports lies inside RAM.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "fuzz_driver.hpp"
#include "virtio/net/virtio_net.hpp"

using namespace trapeze;
using namespace trapeze::virtio;

namespace {

void require(bool ok) {
    if (!ok) __builtin_trap();
}

class FakeBackend final : public NetBackend {
public:
    void send(std::span<const uint8_t> frame) override {
        require(frame.size() <= VirtioNet::kMaxFrameSize);
        ++sent;
        if (!frame.empty()) {
            volatile uint8_t touch = frame.front();
            touch = frame.back();
            (void)touch;
        }
        if (echo) inject(frame);
    }
    void fill_pollfds(std::vector<pollfd>&) override {}
    void poll() override {
        for (const auto& f : pending) inject(f);
        pending.clear();
    }
    void inject(std::span<const uint8_t> frame) {
        ++delivered;
        deliver(frame);
    }

    std::vector<std::vector<uint8_t>> pending;
    uint64_t sent = 0;
    uint64_t delivered = 0;
    bool echo = false;
};

std::vector<uint8_t> frame_from(size_t len, std::span<const uint8_t> prefix) {
    std::vector<uint8_t> f(len);
    for (size_t i = 0; i < len; ++i) f[i] = i < prefix.size() ? prefix[i] : static_cast<uint8_t>(i);
    return f;
}

void host_op(uint8_t op, fuzz::ByteReader& in, FakeBackend& backend, VirtioMmioTransport& t) {
    switch ((op >> 3) & 3) {
        case 0: {
            const uint16_t len = in.u16();
            const auto prefix = in.bytes(in.u8());
            auto f = frame_from(len, prefix);
            if ((op & 0x20) != 0) return backend.inject(f);
            backend.pending.push_back(std::move(f));
            return;
        }
        case 1: {
            const unsigned count = in.u16() % 2048u;
            const std::vector<uint8_t> f(in.u8(), 0x5a);
            for (unsigned i = 0; i < count; ++i) backend.inject(f);
            return;
        }
        case 2: backend.echo = (op & 0x20) != 0; return;
        default: {
            const uint64_t offset = 0x100u + in.u8();
            (void)t.mmio_read(offset, 1u << (in.u8() % 4));
            return;
        }
    }
}

void check(const VirtioNet& net, const FakeBackend& backend) {
    const VirtioNet::Stats& s = net.stats();
    require(s.tx_frames == backend.sent);
    require(net.rx_backlog() <= VirtioNet::kRxBacklogFrames);
    require(backend.delivered == s.rx_frames + s.rx_dropped + s.rx_too_big + net.rx_backlog());
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    fuzz::quiet_logs();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz::ByteReader in(data, size);
    auto b = std::make_unique<FakeBackend>();
    FakeBackend& backend = *b;
    auto n = std::make_unique<VirtioNet>(NetConfig{}, std::move(b));
    VirtioNet& net = *n;
    fuzz::FuzzDriver driver(std::move(n));
    driver.run(
        in, [&] { net.poll(); }, [&](uint8_t op, fuzz::ByteReader& r) { host_op(op, r, backend, driver.transport()); },
        [&] { check(net, backend); });
    return 0;
}
