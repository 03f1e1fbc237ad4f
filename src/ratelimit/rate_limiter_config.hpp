// RateLimiterConfig: Firecracker's `rate_limiter` object (drives, network interfaces, entropy):
// up to two token buckets, one counting bytes (bandwidth) and one counting requests (ops).
//
// A bucket holds at most `size` tokens and refills completely in `refill_time_ms`; it starts
// full, plus `one_time_burst` extra tokens that are spent first and never come back. A bucket
// with size 0 or refill_time_ms 0 does not limit (Firecracker's rule).
//
// Thread: any (plain values).
#pragma once

#include <cstdint>
#include <optional>

namespace trapeze::ratelimit {

struct BucketConfig {
    uint64_t size = 0;
    uint64_t one_time_burst = 0;
    uint64_t refill_time_ms = 0;

    bool limits() const { return size != 0 && refill_time_ms != 0; }
    bool operator==(const BucketConfig&) const = default;
};

struct RateLimiterConfig {
    std::optional<BucketConfig> bandwidth;  // tokens are bytes
    std::optional<BucketConfig> ops;        // tokens are requests (descriptor chains)

    bool limits() const { return (bandwidth && bandwidth->limits()) || (ops && ops->limits()); }
    bool operator==(const RateLimiterConfig&) const = default;
};

}  // namespace trapeze::ratelimit
