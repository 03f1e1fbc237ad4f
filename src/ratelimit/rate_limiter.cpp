#include "ratelimit/rate_limiter.hpp"

#include <algorithm>

namespace trapeze::ratelimit {

RateLimiter::RateLimiter(const std::optional<RateLimiterConfig>& config, Clock clock)
    : RateLimiter(config ? *config : RateLimiterConfig{}, std::move(clock)) {}

RateLimiter::RateLimiter(const RateLimiterConfig& config, Clock clock) : m_clock(std::move(clock)) {
    if (config.limits()) update(config);
}

void RateLimiter::refill(uint64_t now_ns) {
    if (m_bandwidth) m_bandwidth->refill(now_ns);
    if (m_ops) m_ops->refill(now_ns);
}

bool RateLimiter::consume(uint64_t bytes) {
    if (limits()) {
        refill(m_clock());
        const bool fits = (!m_bandwidth || m_bandwidth->can_take(bytes)) && (!m_ops || m_ops->can_take(1));
        if (!fits) {
            m_blocked = true;
            m_refused_bytes = bytes;
            ++m_stats.refusals;
            return false;
        }
        if (m_bandwidth) m_bandwidth->take(bytes);
        if (m_ops) m_ops->take(1);
    }
    m_blocked = false;
    m_stats.bytes += bytes;
    ++m_stats.ops;
    return true;
}

uint64_t RateLimiter::ns_until_ready() {
    if (!m_blocked || !limits()) return 0;
    refill(m_clock());
    return std::max(m_bandwidth ? m_bandwidth->ns_until(m_refused_bytes) : 0, m_ops ? m_ops->ns_until(1) : 0);
}

void RateLimiter::update_bucket(std::optional<TokenBucket>& bucket, const std::optional<BucketConfig>& config,
                                uint64_t now_ns) {
    if (!config) return;  // left out: kept
    if (!config->limits()) {
        bucket.reset();
        return;
    }
    if (bucket && bucket->config() == *config) return;  // unchanged: keeps its budget
    bucket.emplace(*config, now_ns);
}

void RateLimiter::update(const RateLimiterConfig& config) {
    const bool any = config.bandwidth.has_value() || config.ops.has_value();
    if (!any) return;
    const uint64_t now = m_clock();
    refill(now);
    update_bucket(m_bandwidth, config.bandwidth, now);
    update_bucket(m_ops, config.ops, now);
}

RateLimiterConfig RateLimiter::config() const {
    RateLimiterConfig c;
    if (m_bandwidth) c.bandwidth = m_bandwidth->config();
    if (m_ops) c.ops = m_ops->config();
    return c;
}

}  // namespace trapeze::ratelimit
