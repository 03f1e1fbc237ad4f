// VirtioNet: the network device (virtio 1.2 §5.1) in front of a NetBackend.
//
// Features: VERSION_1, MAC, STATUS (link always up), INDIRECT_DESC, EVENT_IDX. No offloads and
// no MRG_RXBUF, so every frame travels with a zeroed 12-byte struct virtio_net_hdr
// (num_buffers = 1, §5.1.6.4) and fits in one receive chain: Linux then posts buffers of
// 1518 + 12 bytes (GOOD_PACKET_LEN), enough for the 1514-byte frames of a 1500 MTU.
// Queues: receiveq1 = 0, transmitq1 = 1 (§5.1.2); no control queue.
//
// Receive path: frames from the backend wait in a bounded backlog and go into the guest's
// receive buffers as buffers are available; when the ring is empty they stay queued and are
// delivered when the driver adds buffers (process_queue(0)) — nothing is dropped while the
// backlog has room. While the backlog is above half full the backend is not polled (its
// frames wait in the host: socket buffers for slirp, the kernel's queue for a TAP), so a
// slow guest pushes back instead of losing frames. Frames dropped on overflow, frames too big
// for the guest's buffer, and malformed transmit requests are counted and logged.
//
// Rate limiters (NetConfig::rx_rate_limiter, tx_rate_limiter; Firecracker's): each frame is one
// op and its bytes (the Ethernet frame, without the virtio-net header) on the limiter of its
// direction. A transmit request the tx limiter refuses stays in the ring; a received frame the
// rx limiter refuses stays in the backlog (which then pushes back on the backend as above).
// Either queue is served again when its limiter has the tokens: that moment is part of the
// device's EventSource timeout.
//
// The device is also the machine's EventSource for its backend: the machine calls poll()
// between hart slices, which polls the backend and delivers the backlog.
//
// Thread: the hart thread only (transport calls and EventSource calls alike).
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "base/event_source.hpp"
#include "ratelimit/rate_limiter.hpp"
#include "virtio/net/net_backend.hpp"
#include "virtio/net/net_config.hpp"
#include "virtio/virtio_device.hpp"

namespace trapeze::virtio {

// Device ID and feature bits, virtio 1.2 §5.1.1, §5.1.3.
inline constexpr uint32_t VIRTIO_ID_NET = 1;
inline constexpr unsigned VIRTIO_NET_F_MAC = 5;
inline constexpr unsigned VIRTIO_NET_F_MRG_RXBUF = 15;
inline constexpr unsigned VIRTIO_NET_F_STATUS = 16;
inline constexpr uint16_t VIRTIO_NET_S_LINK_UP = 1;  // §5.1.4 status

class VirtioNet final : public VirtioDevice, public EventSource {
public:
    static constexpr uint16_t kRxQueue = 0;
    static constexpr uint16_t kTxQueue = 1;
    static constexpr uint16_t kQueueSize = 256;
    static constexpr size_t kHeaderSize = 12;         // struct virtio_net_hdr with num_buffers, §5.1.6
    static constexpr size_t kMaxFrameSize = 65535;    // larger transmit frames are malformed
    static constexpr size_t kRxBacklogFrames = 1024;  // frames kept while the guest has no buffer

    struct Stats {
        uint64_t tx_frames = 0;
        uint64_t tx_malformed = 0;   // header missing or frame too big: completed, not sent
        uint64_t rx_frames = 0;      // delivered to the guest
        uint64_t rx_dropped = 0;     // backlog overflow
        uint64_t rx_too_big = 0;     // the guest's buffer could not hold the frame
    };

    // `clock` is the rate limiters' (tests inject a fake one).
    VirtioNet(const NetConfig& cfg, std::unique_ptr<NetBackend> backend, ratelimit::Clock clock = &GuestClock::host_ns);
    ~VirtioNet() override;
    VirtioNet(const VirtioNet&) = delete;
    VirtioNet& operator=(const VirtioNet&) = delete;

    // VirtioDevice
    uint32_t device_id() const override { return VIRTIO_ID_NET; }
    uint64_t device_features() const override;
    uint16_t queue_count() const override { return 2; }
    uint16_t queue_max_size(uint16_t) const override { return kQueueSize; }
    void read_config(uint64_t offset, std::span<uint8_t> out) const override;
    void activate(const ActivateContext& ctx) override;
    void reset() override;
    void process_queue(uint16_t index) override;
    // The receive backlog, the broken flag and which queue a limiter holds back. The limiters
    // themselves restart with full buckets (as after a VMM restart), so held requests go at
    // the next poll() or kick().
    void save_state(snapshot::StateWriter& w) const override;
    Result<void> restore_state(snapshot::StateReader& r) override;

    // EventSource
    void fill_pollfds(std::vector<pollfd>& fds) override;
    uint64_t next_timeout_ns() override;
    void poll() override;

    const MacAddress& mac() const { return m_mac; }
    const Stats& stats() const { return m_stats; }
    size_t rx_backlog() const { return m_backlog.size(); }
    NetBackend& backend() { return *m_backend; }

    // PATCH /network-interfaces: new buckets (RateLimiter::update's rules); a waiting queue is
    // served at once if the new limits let it.
    void update_rate_limiters(const ratelimit::RateLimiterConfig& rx, const ratelimit::RateLimiterConfig& tx);
    const ratelimit::RateLimiter& rx_rate_limiter() const { return m_rx_limiter; }
    const ratelimit::RateLimiter& tx_rate_limiter() const { return m_tx_limiter; }
    bool rx_throttled() const { return m_rx_throttled; }
    bool tx_throttled() const { return m_tx_throttled; }

private:
    void receive(std::span<const uint8_t> frame);
    void process_tx();
    void flush_rx();
    void resume_throttled();
    bool backend_may_deliver() const { return m_backlog.size() < kRxBacklogFrames / 2; }
    void guest_error(const char* what);

    MacAddress m_mac;
    std::unique_ptr<NetBackend> m_backend;
    std::deque<std::vector<uint8_t>> m_backlog;
    SplitVirtqueue* m_rxq = nullptr;
    SplitVirtqueue* m_txq = nullptr;
    VirtioSignals* m_signals = nullptr;
    DescriptorChain m_rx_chain;
    DescriptorChain m_tx_chain;
    std::vector<uint8_t> m_tx_frame;
    Stats m_stats;
    ratelimit::RateLimiter m_rx_limiter;
    ratelimit::RateLimiter m_tx_limiter;
    bool m_rx_throttled = false;  // the rx limiter refused the backlog's first frame
    bool m_tx_throttled = false;  // the tx limiter refused the request at the head of the ring
    bool m_broken = false;  // reported NEEDS_RESET; serve nothing until reset()
    bool m_malformed_logged = false;
};

// Builds the backend `cfg` names and the device on top of it.
Result<std::unique_ptr<VirtioNet>> make_virtio_net(const NetConfig& cfg);

}  // namespace trapeze::virtio
