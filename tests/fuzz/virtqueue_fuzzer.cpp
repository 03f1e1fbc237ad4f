// libFuzzer target: the split-virtqueue walker over guest memory the fuzzer controls.
//
// Input: byte 0 picks the queue size (1 << (b % 5), up to 16), byte 1 bit 0 turns on
// VIRTIO_RING_F_EVENT_IDX; the rest is the start of the guest RAM image (64 KiB at 0x10000):
// the available ring (with avail->idx) at 0x10000, the descriptor table at 0x10040 — the first
// bytes of the input, so short inputs already make chains — and the used ring at 0x18000.
// Descriptors, indirect tables and indices are all fuzzer-chosen.
// Every chain is drained like a device would: readable bytes read, writable bytes written,
// the chain returned through the used ring. A span outside RAM traps; a crash, an ASan/UBSan
// report or a hang (libFuzzer -timeout) fails the run.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "fuzz_guest.hpp"
#include "virtio/split_virtqueue.hpp"

using namespace trapeze;
using namespace trapeze::virtio;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 2) return 0;
    GuestMemory& mem = fuzz::fuzz_ram();
    const auto queue_size = static_cast<uint16_t>(1u << (data[0] % 5));
    const bool event_idx = (data[1] & 1) != 0;
    fuzz::load_ram(mem, data + 2, size - 2);

    const QueueLayout layout{queue_size, fuzz::kDescTable, fuzz::kAvailRing, fuzz::kUsedRing};
    if (SplitVirtqueue::check_layout(mem, layout, event_idx) != QueueError::None) __builtin_trap();
    SplitVirtqueue q(mem, layout, event_idx);
    DescriptorChain chain;
    // More pops than the queue can hold: the avail index check must stop a runaway driver.
    for (unsigned i = 0; i < 2u * queue_size + 2; ++i) {
        const PopStatus st = q.pop(chain);
        if (st != PopStatus::Chain) break;
        uint8_t sum = 0;
        for (const auto& s : chain.readable) {
            fuzz::require_inside(mem, s.data(), s.size());
            for (uint8_t b : s) sum = static_cast<uint8_t>(sum + b);
        }
        uint64_t written = 0;
        for (const auto& s : chain.writable) {
            fuzz::require_inside(mem, s.data(), s.size());
            if (!s.empty()) std::memset(s.data(), sum, s.size());
            written += s.size();
        }
        if (chain.head >= queue_size) __builtin_trap();
        q.add_used(chain, static_cast<uint32_t>(written));
        (void)q.needs_notification();
    }
    return 0;
}
