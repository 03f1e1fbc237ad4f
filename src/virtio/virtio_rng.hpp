// VirtioRng: the entropy device (virtio 1.2 §5.4). One queue; every device-writable buffer
// of a request is filled from the host's getrandom(2), at most kMaxBytesPerRequest per request
// (§5.4.6: the device may write fewer bytes than offered).
//
// Rate limiter (MachineConfig::rng_rate_limiter, Firecracker's `rate_limiter` of PUT /entropy):
// each request is one op and the bytes it will get (its writable bytes, at most
// kMaxBytesPerRequest) are its bytes. A refused request stays in the ring until the limiter has
// the tokens; the device is an EventSource whose timeout is that moment (as VirtioBlk).
//
// Snapshots: only whether a request waits for the limiter is saved; the limiter restarts with
// full buckets and the counters at 0 (as VirtioBlk).
//
// Thread: the transport's caller and the machine's loop, serialised by the machine's device
// lock (process_queue runs getrandom synchronously; it does not block once the host's pool is
// initialised).
#pragma once

#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "base/event_source.hpp"
#include "ratelimit/rate_limiter.hpp"
#include "virtio/virtio_device.hpp"

namespace trapeze::virtio {

class VirtioRng final : public VirtioDevice, public EventSource {
public:
    static constexpr uint16_t kQueueSize = 64;
    static constexpr uint64_t kMaxBytesPerRequest = 64 * 1024;

    explicit VirtioRng(const std::optional<ratelimit::RateLimiterConfig>& rate_limiter = {},
                       ratelimit::Clock clock = &GuestClock::host_ns)
        : m_limiter(rate_limiter, std::move(clock)) {}

    uint32_t device_id() const override;
    uint64_t device_features() const override;
    uint16_t queue_count() const override { return 1; }
    uint16_t queue_max_size(uint16_t) const override { return kQueueSize; }
    void read_config(uint64_t offset, std::span<uint8_t> out) const override;
    void activate(const ActivateContext& ctx) override;
    void reset() override;
    void process_queue(uint16_t index) override;
    void save_state(snapshot::StateWriter& w) const override;
    Result<void> restore_state(snapshot::StateReader& r) override;

    // EventSource: no fds; a timeout only while a request waits for the rate limiter.
    void fill_pollfds(std::vector<pollfd>&) override {}
    uint64_t next_timeout_ns() override;
    void poll() override;

    void update_rate_limiter(const ratelimit::RateLimiterConfig& config);
    const ratelimit::RateLimiter& rate_limiter() const { return m_limiter; }
    // Running totals (Firecracker's entropy metrics).
    uint64_t entropy_bytes() const { return m_entropy_bytes; }
    uint64_t entropy_event_count() const { return m_requests; }
    bool throttled() const { return m_throttled; }
    // Where the bytes come from instead of getrandom(2) (record and replay: machine::HostInputs):
    // fills its span as far as it can, returns how many bytes it filled.
    using Entropy = std::function<size_t(std::span<uint8_t>)>;
    void set_entropy(Entropy e) { m_entropy = std::move(e); }
    static size_t host_entropy(std::span<uint8_t> out);

private:
    bool handle_chain();

    SplitVirtqueue* m_queue = nullptr;
    VirtioSignals* m_signals = nullptr;
    DescriptorChain m_chain;
    ratelimit::RateLimiter m_limiter;
    bool m_throttled = false;
    uint64_t m_entropy_bytes = 0;
    uint64_t m_requests = 0;  // the limiter refused the request at the head of the ring
    Entropy m_entropy;  // unset: host_entropy
};

}  // namespace trapeze::virtio
