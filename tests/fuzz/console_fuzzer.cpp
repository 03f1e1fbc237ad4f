// libFuzzer target: virtio-console's transmit and receive queues (virtio 1.2 §5.3.6) and its
// emergency write, through the virtio-mmio transport, with host input bytes from the input.
//
// Input: FuzzDriver::init's operands (features, queue sizes), then ops until the input ends:
// the shared driver ops of fuzz_driver.hpp (queue 0 is receiveq0, 1 transmitq0), op 4 the
// device's poll() (delivers waiting input), and op 3, host side, by (op >> 3) & 3:
//   0  typed input: u8 n, n bytes pushed (those the device accepts)
//   1  pasted input: u16 count (% 8192) pattern bytes, enough to fill the input buffer
//   2  config write: u8 offset, u8 size code (1 << (code % 4)), u32 value (offset 8, 4
//      bytes: emerg_wr, §5.3.6.1)
//   3  config read: u8 offset, u8 size code
//
// Checked after every op: the interrupt line follows InterruptStatus; the device never holds
// more than kInputBufferSize bytes of input, and takes every byte it says it can
// (can_accept_input); the sink only gets non-empty output, and output that lies in guest RAM
// lies wholly inside it; every write the device reports lies inside RAM. Guest RAM is 64 MiB,
// so a transmit chain can name gigabytes: the host must not try to hold them at once
// (libFuzzer's -malloc_limit_mb / -rss_limit_mb turn that into a reported failure).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "fuzz_driver.hpp"
#include "virtio/console/virtio_console.hpp"

using namespace trapeze;
using namespace trapeze::virtio;

namespace {

void require(bool ok) {
    if (!ok) __builtin_trap();
}

void sink(const GuestMemory& mem, std::span<const uint8_t> out) {
    require(!out.empty());
    const uint8_t* lo = mem.host_base();
    if (out.data() >= lo && out.data() < lo + mem.size()) fuzz::require_inside(mem, out.data(), out.size());
    volatile uint8_t touch = out.front();  // a span that is not memory faults here
    touch = out.back();
    (void)touch;
}

void push(VirtioConsole& console, uint8_t byte) {
    if (!console.can_accept_input()) return;
    const size_t before = console.pending_input();
    console.push_input(byte);
    require(console.pending_input() == before + 1);  // accepted means kept, never dropped
}

void host_op(uint8_t op, fuzz::ByteReader& in, VirtioConsole& console, VirtioMmioTransport& t) {
    switch ((op >> 3) & 3) {
        case 0:
            for (const uint8_t b : in.bytes(in.u8())) push(console, b);
            return;
        case 1: {
            const unsigned count = in.u16() % 8192u;
            for (unsigned i = 0; i < count; ++i) push(console, static_cast<uint8_t>('a' + i % 26));
            return;
        }
        case 2: {
            const uint64_t offset = 0x100u + in.u8();
            const unsigned size = 1u << (in.u8() % 4);
            t.mmio_write(offset, in.u32(), size);
            return;
        }
        default: {
            const uint64_t offset = 0x100u + in.u8();
            (void)t.mmio_read(offset, 1u << (in.u8() % 4));
            return;
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    fuzz::quiet_logs();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz::ByteReader in(data, size);
    const GuestMemory& mem = fuzz::FuzzDriver::ram();
    auto c = std::make_unique<VirtioConsole>([&mem](std::span<const uint8_t> out) { sink(mem, out); });
    VirtioConsole& console = *c;
    fuzz::FuzzDriver driver(std::move(c));
    driver.run(
        in, [&] { console.poll(); }, [&](uint8_t op, fuzz::ByteReader& r) { host_op(op, r, console, driver.transport()); },
        [&] { require(console.pending_input() <= VirtioConsole::kInputBufferSize); });
    return 0;
}
