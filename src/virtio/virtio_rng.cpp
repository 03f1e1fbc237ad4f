#include "virtio/virtio_rng.hpp"

#include <algorithm>
#include <cstring>

#include "base/host_random.hpp"
#include "virtio/virtio_spec.hpp"

namespace trapeze::virtio {

// Fills `buf` from the host's entropy pool; returns the bytes written.
size_t VirtioRng::host_entropy(std::span<uint8_t> buf) { return host_random(buf); }

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
    // The limiter keeps its budget (a reset is no way to refill it); the waiting request is gone.
    m_queue = nullptr;
    m_signals = nullptr;
    m_throttled = false;
}

void VirtioRng::process_queue(uint16_t index) {
    if (index != 0 || m_queue == nullptr) return;
    m_throttled = false;
    serve_queue(*m_queue, 0, m_chain, *m_signals, [this] { return handle_chain(); });
}

// Answers one request; false if the rate limiter holds it back (it stays in the ring).
bool VirtioRng::handle_chain() {
    // §5.4.6: fill the writable buffers, at most kMaxBytesPerRequest per request.
    uint64_t budget = std::min(total_bytes(m_chain.writable), kMaxBytesPerRequest);
    if (!m_limiter.consume(budget)) {
        m_queue->undo_pop();
        m_throttled = true;
        return false;
    }
    uint64_t written = 0;
    for (auto& buf : m_chain.writable) {
        if (budget == 0) break;
        const auto part = buf.first(static_cast<size_t>(std::min<uint64_t>(buf.size(), budget)));
        const size_t n = m_entropy ? m_entropy(part) : host_entropy(part);
        written += n;
        budget -= n;
        if (n < part.size()) break;
    }
    m_queue->add_used(m_chain, static_cast<uint32_t>(written));
    m_entropy_bytes += written;
    ++m_requests;
    return true;
}

void VirtioRng::save_state(snapshot::StateWriter& w) const { w.boolean(m_throttled); }

Result<void> VirtioRng::restore_state(snapshot::StateReader& r) {
    const bool throttled = r.boolean();
    TRAPEZE_TRY(r.finish());
    m_throttled = throttled && m_queue != nullptr;
    return ok();
}

uint64_t VirtioRng::next_timeout_ns() { return m_throttled ? m_limiter.ns_until_ready() : kNoTimeout; }

void VirtioRng::poll() {
    if (m_throttled && m_limiter.ns_until_ready() == 0) process_queue(0);
}

void VirtioRng::update_rate_limiter(const ratelimit::RateLimiterConfig& config) {
    m_limiter.update(config);
    poll();
}

}  // namespace trapeze::virtio
