#include "virtio/net/virtio_net.hpp"

#include <algorithm>
#include <array>
#include <cstring>

#include "base/log.hpp"
#include "virtio/virtio_spec.hpp"

namespace trapeze::virtio {

VirtioNet::VirtioNet(const NetConfig& cfg, std::unique_ptr<NetBackend> backend, ratelimit::Clock clock)
    : m_mac(cfg.mac),
      m_backend(std::move(backend)),
      m_rx_limiter(cfg.rx_rate_limiter, clock),
      m_tx_limiter(cfg.tx_rate_limiter, std::move(clock)) {
    m_backend->set_receiver([this](std::span<const uint8_t> frame) { receive(frame); });
}

VirtioNet::~VirtioNet() { m_backend->set_receiver({}); }

uint64_t VirtioNet::device_features() const {
    return kCommonFeatures | feature_bit(VIRTIO_NET_F_MAC) | feature_bit(VIRTIO_NET_F_STATUS);
}

void VirtioNet::read_config(uint64_t offset, std::span<uint8_t> out) const {
    // §5.1.4: struct virtio_net_config { u8 mac[6]; le16 status; ... }; later fields need
    // features we do not offer and read as 0.
    std::array<uint8_t, 8> config{};
    std::copy(m_mac.begin(), m_mac.end(), config.begin());
    config[6] = VIRTIO_NET_S_LINK_UP;
    for (size_t i = 0; i < out.size(); ++i) {
        const uint64_t at = offset + i;
        out[i] = at < config.size() ? config[static_cast<size_t>(at)] : 0;
    }
}

void VirtioNet::activate(const ActivateContext& ctx) {
    m_rxq = ctx.queues.size() > kRxQueue ? ctx.queues[kRxQueue] : nullptr;
    m_txq = ctx.queues.size() > kTxQueue ? ctx.queues[kTxQueue] : nullptr;
    m_signals = &ctx.signals;
    m_broken = false;
    flush_rx();
}

void VirtioNet::reset() {
    // Frames already received stay in the backlog for the next driver (a reboot), bounded
    // as always.
    m_rxq = nullptr;
    m_txq = nullptr;
    m_signals = nullptr;
    m_broken = false;
    m_rx_throttled = false;  // the limiters keep their budgets
    m_tx_throttled = false;
}

void VirtioNet::process_queue(uint16_t index) {
    if (index == kTxQueue) process_tx();
    // Frames slirp answered synchronously during TX, or buffers the driver just added to RX.
    flush_rx();
}

void VirtioNet::guest_error(const char* what) {
    m_broken = true;
    m_signals->needs_reset(what);
}

void VirtioNet::process_tx() {
    m_tx_throttled = false;
    if (m_txq == nullptr || m_broken) return;
    bool used = false;
    for (;;) {
        const PopStatus st = m_txq->pop(m_tx_chain);
        if (st == PopStatus::Empty) break;
        if (st == PopStatus::Error) {
            guest_error(to_string(m_txq->error()));
            return;
        }
        // §5.1.6.2: header, then the frame; both device-readable, split across buffers any way.
        const uint64_t total = total_bytes(m_tx_chain.readable);
        const bool malformed = total < kHeaderSize || total - kHeaderSize > kMaxFrameSize;
        if (!m_tx_limiter.consume(malformed ? 0 : total - kHeaderSize)) {
            m_txq->undo_pop();
            m_tx_throttled = true;
            break;
        }
        if (malformed) {
            ++m_stats.tx_malformed;
            if (!m_malformed_logged) spdlog::warn("virtio-net: dropping a {}-byte transmit request", total);
            m_malformed_logged = true;
        } else {
            m_tx_frame.resize(static_cast<size_t>(total - kHeaderSize));
            ChainReader reader(m_tx_chain.readable);
            std::array<uint8_t, kHeaderSize> header{};  // no offloads negotiated: nothing to act on
            reader.read(header);
            reader.read(m_tx_frame);
            ++m_stats.tx_frames;
            m_backend->send(m_tx_frame);
        }
        m_txq->add_used(m_tx_chain, 0);  // §5.1.6.2.2: the device writes nothing
        used = true;
    }
    if (used) m_signals->notify_used(kTxQueue);  // the transport applies event-idx suppression
}

void VirtioNet::receive(std::span<const uint8_t> frame) {
    if (m_backlog.size() >= kRxBacklogFrames) {
        if (m_stats.rx_dropped++ % 1024 == 0)
            spdlog::warn("virtio-net: guest is not taking frames, receive backlog full ({} frames dropped so far)",
                         m_stats.rx_dropped);
        return;
    }
    m_backlog.emplace_back(frame.begin(), frame.end());
}

void VirtioNet::flush_rx() {
    if (m_rxq == nullptr || m_broken) return;
    // Called on every poll and notification: while the limiter has no tokens, look no further.
    if (m_rx_throttled && m_rx_limiter.ns_until_ready() != 0) return;
    m_rx_throttled = false;
    bool used = false;
    while (!m_backlog.empty()) {
        const PopStatus st = m_rxq->pop(m_rx_chain);
        if (st == PopStatus::Empty) break;  // keep the frame until the driver adds buffers
        if (st == PopStatus::Error) {
            guest_error(to_string(m_rxq->error()));
            return;
        }
        const std::vector<uint8_t>& frame = m_backlog.front();
        if (!m_rx_limiter.consume(frame.size())) {
            m_rxq->undo_pop();  // the frame waits in the backlog, the buffer in the ring
            m_rx_throttled = true;
            break;
        }
        uint32_t len = 0;
        if (total_bytes(m_rx_chain.writable) < kHeaderSize + frame.size()) {
            // Without MRG_RXBUF a frame must fit one chain (§5.1.6.3.1); this one cannot.
            if (m_stats.rx_too_big++ == 0)
                spdlog::warn("virtio-net: dropping a {}-byte frame: the guest's receive buffer is {} bytes",
                             frame.size(), total_bytes(m_rx_chain.writable));
        } else {
            // §5.1.6.4: no offloads, so flags = 0 and gso_type = VIRTIO_NET_HDR_GSO_NONE;
            // num_buffers = 1 without MRG_RXBUF.
            std::array<uint8_t, kHeaderSize> header{};
            header[10] = 1;
            ChainWriter writer(m_rx_chain.writable);
            writer.write(header);
            writer.write(frame);
            len = static_cast<uint32_t>(writer.written());
            ++m_stats.rx_frames;
        }
        m_backlog.pop_front();
        m_rxq->add_used(m_rx_chain, len);
        used = true;
    }
    if (used) m_signals->notify_used(kRxQueue);  // the transport applies event-idx suppression
}

void VirtioNet::fill_pollfds(std::vector<pollfd>& fds) {
    if (backend_may_deliver()) m_backend->fill_pollfds(fds);
}

uint64_t VirtioNet::next_timeout_ns() {
    // A backend that is not polled has no reason to wake the machine either.
    uint64_t ns = backend_may_deliver() ? m_backend->next_timeout_ns() : kNoTimeout;
    if (m_tx_throttled) ns = std::min(ns, m_tx_limiter.ns_until_ready());
    if (m_rx_throttled) ns = std::min(ns, m_rx_limiter.ns_until_ready());
    return ns;
}

void VirtioNet::poll() {
    if (backend_may_deliver()) m_backend->poll();
    resume_throttled();
}

// Serves what the limiters held back once they have the tokens (flush_rx checks its own).
void VirtioNet::resume_throttled() {
    if (m_tx_throttled && m_tx_limiter.ns_until_ready() == 0) process_tx();
    flush_rx();
}

void VirtioNet::update_rate_limiters(const ratelimit::RateLimiterConfig& rx, const ratelimit::RateLimiterConfig& tx) {
    m_rx_limiter.update(rx);
    m_tx_limiter.update(tx);
    resume_throttled();
}

void VirtioNet::save_state(snapshot::StateWriter& w) const {
    // A backend frame larger than any transmit frame could only be dropped as too big (no
    // MRG_RXBUF or offloads); it is not saved, which keeps the reader's bound.
    const auto fits = [](const std::vector<uint8_t>& f) { return f.size() <= kMaxFrameSize; };
    w.u32(static_cast<uint32_t>(std::count_if(m_backlog.begin(), m_backlog.end(), fits)));
    for (const auto& frame : m_backlog)
        if (fits(frame)) w.bytes(frame);
    w.boolean(m_broken);
    w.boolean(m_rx_throttled);
    w.boolean(m_tx_throttled);
}

// Delivery waits for the transport's kick() or the next poll(): restoring writes no guest RAM.
Result<void> VirtioNet::restore_state(snapshot::StateReader& r) {
    std::deque<std::vector<uint8_t>> backlog(r.count(kRxBacklogFrames, 4));
    for (auto& frame : backlog) frame = r.bytes(kMaxFrameSize);
    const bool broken = r.boolean();
    const bool rx_throttled = r.boolean();
    const bool tx_throttled = r.boolean();
    TRAPEZE_TRY(r.finish());
    m_backlog = std::move(backlog);
    m_broken = broken;
    // Only an active device waits on a limiter (reset() clears both).
    m_rx_throttled = rx_throttled && m_rxq != nullptr;
    m_tx_throttled = tx_throttled && m_txq != nullptr;
    return ok();
}

Result<std::unique_ptr<VirtioNet>> make_virtio_net(const NetConfig& cfg) {
    auto backend = make_net_backend(cfg);
    if (!backend) return backend.error();
    return std::make_unique<VirtioNet>(cfg, std::move(*backend));
}

}  // namespace trapeze::virtio
