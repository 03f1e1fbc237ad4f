// libFuzzer target: virtio-blk request parsing and execution, through the virtio-mmio
// transport, over a 32 KiB in-memory image (memfd).
//
// Input: byte 0 picks the queue size (1 << (b % 5), up to 16), byte 1 bit 0 negotiates
// VIRTIO_RING_F_EVENT_IDX; the rest is the start of the guest RAM image (64 KiB at 0x10000)
// holding the available ring at 0x10000, the descriptor table at 0x10040 (the used ring is at
// 0x18000), and
// whatever request headers, data and discard segments the chains point at. The driver sets
// the device up, notifies queue 0 and the device serves what it finds. Guest RAM has guard
// pages on both sides; a crash, a sanitizer report or a hang fails the run.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "fuzz_guest.hpp"
#include "virtio/virtio_blk.hpp"
#include "virtio/virtio_mmio_transport.hpp"
#include "virtio/virtio_spec.hpp"

using namespace trapeze;
using namespace trapeze::virtio;

namespace {

constexpr uint64_t kImageBytes = 64 * 512;

VirtioMmioTransport& transport() {
    static VirtioMmioTransport* t = [] {
        const int fd = ::memfd_create("trapeze-blk-fuzz", MFD_CLOEXEC);
        if (fd < 0 || ::ftruncate(fd, kImageBytes) != 0) std::abort();
        auto blk = VirtioBlk::create(BlkConfig{"/proc/self/fd/" + std::to_string(fd), false, "fuzz"});
        if (!blk.ok()) {
            std::fprintf(stderr, "%s\n", blk.error().message.c_str());
            std::abort();
        }
        static IrqLine irq;
        return new VirtioMmioTransport(fuzz::fuzz_ram(), irq, std::move(blk.value()));
    }();
    return *t;
}

void write32(VirtioMmioTransport& t, uint64_t offset, uint64_t v) { t.mmio_write(offset, v & 0xffff'ffff, 4); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 2) return 0;
    VirtioMmioTransport& t = transport();
    GuestMemory& mem = fuzz::fuzz_ram();
    const auto queue_size = static_cast<uint16_t>(1u << (data[0] % 5));
    uint64_t features = feature_bit(VIRTIO_F_VERSION_1) | feature_bit(VIRTIO_RING_F_INDIRECT_DESC) |
                        t.device().device_features();
    if ((data[1] & 1) == 0) features &= ~feature_bit(VIRTIO_RING_F_EVENT_IDX);

    // §3.1.1 initialisation, as a driver would do it, after the guest RAM is in place.
    write32(t, 0x070, 0);
    fuzz::load_ram(mem, data + 2, size - 2);
    write32(t, 0x070, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
    write32(t, 0x024, 0);
    write32(t, 0x020, features);
    write32(t, 0x024, 1);
    write32(t, 0x020, features >> 32);
    const uint32_t status = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK;
    write32(t, 0x070, status);
    write32(t, 0x030, 0);
    write32(t, 0x038, queue_size);
    write32(t, 0x080, fuzz::kDescTable.value);
    write32(t, 0x090, fuzz::kAvailRing.value);
    write32(t, 0x0a0, fuzz::kUsedRing.value);
    write32(t, 0x044, 1);
    write32(t, 0x070, status | VIRTIO_CONFIG_S_DRIVER_OK);
    if ((t.status() & VIRTIO_CONFIG_S_DRIVER_OK) == 0) __builtin_trap();
    t.mmio_write(0x050, 0, 4);
    // A second notification must be harmless whatever state the first one left.
    t.mmio_write(0x050, 0, 4);
    return 0;
}
