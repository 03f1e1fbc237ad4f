#include "ratelimit/token_bucket.hpp"

#include <algorithm>
#include <cassert>

namespace trapeze::ratelimit {

namespace {

using u128 = unsigned __int128;

constexpr uint64_t kNsPerMs = 1'000'000;

uint64_t clamp_to_u64(u128 v) {
    return v > UINT64_MAX ? UINT64_MAX : static_cast<uint64_t>(v);
}

}  // namespace

TokenBucket::TokenBucket(const BucketConfig& config, uint64_t now_ns)
    : m_config(config),
      m_budget(config.size),
      m_burst(config.one_time_burst),
      m_last_ns(now_ns),
      m_refill_ns(clamp_to_u64(u128{config.refill_time_ms} * kNsPerMs)) {
    assert(config.limits());
}

void TokenBucket::refill(uint64_t now_ns) {
    if (now_ns <= m_last_ns) return;
    const uint64_t elapsed = now_ns - m_last_ns;
    m_last_ns = now_ns;
    if (m_debt == 0 && m_budget == m_config.size) return;  // full: nothing to earn
    const u128 earned = u128{elapsed} * m_config.size + m_partial;
    u128 tokens = earned / m_refill_ns;
    m_partial = static_cast<uint64_t>(earned % m_refill_ns);
    const u128 paid = std::min<u128>(tokens, m_debt);
    m_debt -= static_cast<uint64_t>(paid);
    tokens -= paid;
    m_budget = static_cast<uint64_t>(std::min<u128>(m_budget + tokens, m_config.size));
    if (m_budget == m_config.size) m_partial = 0;  // a full bucket earns nothing more
}

bool TokenBucket::can_take(uint64_t tokens) const {
    const uint64_t need = needed_from_budget(tokens);
    if (need == 0) return true;
    if (m_debt != 0) return false;
    if (need <= m_budget) return true;
    // Larger than the bucket: it could never fit, so it goes through when the bucket is full.
    return need > m_config.size && m_budget == m_config.size;
}

void TokenBucket::take(uint64_t tokens) {
    const uint64_t from_burst = std::min(tokens, m_burst);
    m_burst -= from_burst;
    const uint64_t need = tokens - from_burst;
    if (need <= m_budget) {
        m_budget -= need;
        return;
    }
    m_debt += need - m_budget;
    m_budget = 0;
}

uint64_t TokenBucket::ns_until(uint64_t tokens) const {
    const uint64_t need = needed_from_budget(tokens);
    if (need == 0) return 0;
    const uint64_t target = std::min(need, m_config.size);
    const u128 deficit = u128{m_debt} + (target > m_budget ? target - m_budget : 0);
    if (deficit == 0) return 0;
    // The first elapsed time E with (E * size + m_partial) / refill_ns >= deficit (see refill()).
    if (deficit > ~u128{0} / m_refill_ns) return UINT64_MAX;
    const u128 work = deficit * m_refill_ns - m_partial;  // m_partial < m_refill_ns <= deficit * m_refill_ns
    return clamp_to_u64((work + m_config.size - 1) / m_config.size);
}

}  // namespace trapeze::ratelimit
