#include "virtio/virtio_rng.hpp"

#include <sys/random.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "virtio/virtio_spec.hpp"

namespace trapeze::virtio {

namespace {

// Fills `buf` from the host's entropy pool; returns the bytes written.
size_t fill_random(std::span<uint8_t> buf) {
    size_t done = 0;
    while (done < buf.size()) {
        const ssize_t n = ::getrandom(buf.data() + done, buf.size() - done, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            break;
        }
        done += static_cast<size_t>(n);
    }
    return done;
}

}  // namespace

uint32_t VirtioRng::device_id() const { return VIRTIO_ID_RNG; }
uint64_t VirtioRng::device_features() const { return kCommonFeatures; }

void VirtioRng::read_config(uint64_t, std::span<uint8_t> out) const {
    std::fill(out.begin(), out.end(), uint8_t{0});  // §5.4.4: no configuration
}

void VirtioRng::activate(const ActivateContext& ctx) {
    m_queue = ctx.queues.empty() ? nullptr : ctx.queues[0];
    m_signals = &ctx.signals;
}

void VirtioRng::reset() {
    m_queue = nullptr;
    m_signals = nullptr;
}

void VirtioRng::process_queue(uint16_t index) {
    if (index != 0 || m_queue == nullptr) return;
    serve_queue(*m_queue, 0, m_chain, *m_signals, [this] {
        // §5.4.6: fill the writable buffers, at most kMaxBytesPerRequest per request.
        uint64_t budget = kMaxBytesPerRequest;
        uint64_t written = 0;
        for (auto& buf : m_chain.writable) {
            const auto part = buf.first(static_cast<size_t>(std::min<uint64_t>(buf.size(), budget)));
            const size_t n = fill_random(part);
            written += n;
            budget -= n;
            if (n < part.size() || budget == 0) break;
        }
        m_queue->add_used(m_chain, static_cast<uint32_t>(written));
        return true;
    });
}

}  // namespace trapeze::virtio
