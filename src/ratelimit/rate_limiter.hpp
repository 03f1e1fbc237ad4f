// RateLimiter: Firecracker's `rate_limiter` enforced — a bandwidth bucket counting bytes and an
// ops bucket counting requests (TokenBucket), either or both, on a device's queue.
//
// A device asks consume(bytes) before it serves a request: one op and `bytes` bytes, taken from
// both buckets or from neither. On a refusal the device leaves the request in the guest's ring
// and stops serving that queue; the limiter is then blocked() and ns_until_ready() says when
// the refused request will fit, which the device hands to the machine's loop as its
// EventSource timeout, so that its poll() serves the queue again then. A limiter without
// buckets lets everything through and never blocks.
//
// update() is PATCH /drives (and /network-interfaces) at run time, with Firecracker's rules: a
// bucket the new config leaves out (nullopt) is kept as it is; one with size 0 or
// refill_time_ms 0 is removed (no more limiting of that kind); any other replaces the bucket by
// a new one, full and with its one_time_burst — unless it is the same configuration as the
// current bucket's, which then keeps its state, so that re-sending a configuration cannot
// refill a bucket early.
//
// Time comes from `clock` (monotonic nanoseconds; GuestClock::host_ns unless a test injects
// a fake one), read once per consume() and per ns_until_ready().
//
// Thread: one thread at a time (the device's caller: the hart thread or the I/O thread under
// the machine's device lock).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>

#include "base/guest_clock.hpp"
#include "ratelimit/rate_limiter_config.hpp"
#include "ratelimit/token_bucket.hpp"

namespace trapeze::ratelimit {

using Clock = std::function<uint64_t()>;

class RateLimiter {
public:
    struct Stats {
        uint64_t bytes = 0;     // let through
        uint64_t ops = 0;       // let through
        uint64_t refusals = 0;  // consume() calls answered false
    };

    explicit RateLimiter(const RateLimiterConfig& config = {}, Clock clock = &GuestClock::host_ns);
    // Out of line: inlined with an empty optional, gcc 12 at -O1 with the sanitizers warns that
    // the (absent) value may be used uninitialized.
    explicit RateLimiter(const std::optional<RateLimiterConfig>& config, Clock clock = &GuestClock::host_ns);

    // Whether any bucket limits (if not, consume() always succeeds and reads no clock).
    bool limits() const { return m_bandwidth.has_value() || m_ops.has_value(); }

    // One op and `bytes` bytes: true if both buckets had them (and they are taken), false if
    // either did not (nothing is taken, and the limiter is blocked until a consume succeeds).
    bool consume(uint64_t bytes);

    bool blocked() const { return m_blocked; }
    // Nanoseconds until the request consume() last refused would go through (0: it would now,
    // or the limiter is not blocked).
    uint64_t ns_until_ready();

    void update(const RateLimiterConfig& config);

    // The buckets in force (nullopt where none limits), as GET /vm/config reports them.
    RateLimiterConfig config() const;
    const std::optional<TokenBucket>& bandwidth() const { return m_bandwidth; }
    const std::optional<TokenBucket>& ops() const { return m_ops; }
    const Stats& stats() const { return m_stats; }

private:
    void refill(uint64_t now_ns);
    static void update_bucket(std::optional<TokenBucket>& bucket, const std::optional<BucketConfig>& config,
                              uint64_t now_ns);

    Clock m_clock;
    std::optional<TokenBucket> m_bandwidth;  // tokens are bytes
    std::optional<TokenBucket> m_ops;        // tokens are requests
    bool m_blocked = false;
    uint64_t m_refused_bytes = 0;  // the request that blocked the limiter
    Stats m_stats;
};

}  // namespace trapeze::ratelimit
