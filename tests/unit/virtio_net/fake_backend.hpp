// The virtio-net tests' network backend: records what the device sends, injects frames on
// request (at once, or at the next poll()), and counts the device's polls.
#pragma once

#include <cstdint>
#include <numeric>
#include <span>
#include <vector>

#include "virtio/net/net_backend.hpp"

namespace trapeze::virtio::test {

class FakeBackend final : public NetBackend {
public:
    void send(std::span<const uint8_t> frame) override { sent.emplace_back(frame.begin(), frame.end()); }
    void fill_pollfds(std::vector<pollfd>&) override { ++fills; }
    void poll() override {
        ++polls;
        for (const auto& f : pending) deliver(f);
        pending.clear();
    }
    void inject(const std::vector<uint8_t>& frame) { deliver(frame); }

    std::vector<std::vector<uint8_t>> sent;
    std::vector<std::vector<uint8_t>> pending;  // handed over at the next poll()
    int polls = 0;
    int fills = 0;
};

// A frame of `len` bytes counting up from `seed`.
inline std::vector<uint8_t> frame_of(size_t len, uint8_t seed) {
    std::vector<uint8_t> f(len);
    std::iota(f.begin(), f.end(), seed);
    return f;
}

}  // namespace trapeze::virtio::test
