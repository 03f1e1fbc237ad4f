// TokenBucket: one bucket of a rate limiter (Firecracker's semantics, see
// rate_limiter_config.hpp): it holds at most `size` tokens, earns `size` tokens per
// `refill_time_ms` continuously (in proportion to the time elapsed, without losing the
// fractions of a token between two refills), starts full, and has `one_time_burst` extra
// tokens that are spent before the budget and never come back.
//
// Taking is in two steps so that a limiter with two buckets takes from both or from neither:
// refill(now), then can_take(n), then take(n). A request larger than `size` can never fit; it
// is let through once the bucket is full and leaves the bucket in debt by the excess, which
// the refill pays back before anything else is let through — so such a request waits for a
// full bucket and then delays what follows in proportion to its size (Firecracker lets it
// through at once and blocks the limiter for the time the excess takes to refill).
//
// Over any interval starting when the bucket was created, what it let through is at most
// size + one_time_burst + size * elapsed / refill_time + the largest excess of a request over
// size (tests/unit/ratelimit check this).
//
// Thread: one thread at a time (the device's caller serialises).
#pragma once

#include <cstdint>

#include "ratelimit/rate_limiter_config.hpp"

namespace trapeze::ratelimit {

class TokenBucket {
public:
    // `config` must limit (config.limits()); the bucket is full at `now_ns`.
    TokenBucket(const BucketConfig& config, uint64_t now_ns);

    const BucketConfig& config() const { return m_config; }
    uint64_t budget() const { return m_budget; }         // tokens in the bucket (0 while in debt)
    uint64_t debt() const { return m_debt; }             // what an oversize request overdrew
    uint64_t one_time_burst() const { return m_burst; }  // what is left of it

    // Adds the tokens earned between the last refill and `now_ns` (a monotonic clock; an
    // earlier time adds nothing): first to pay the debt, then up to `size`.
    void refill(uint64_t now_ns);

    // Whether `tokens` can be taken now (as of the last refill).
    bool can_take(uint64_t tokens) const;
    // Takes `tokens`, from the one-time burst first; only after can_take(tokens).
    void take(uint64_t tokens);

    // Nanoseconds after the last refill at which can_take(tokens) becomes true (0: now).
    uint64_t ns_until(uint64_t tokens) const;

private:
    uint64_t needed_from_budget(uint64_t tokens) const { return tokens > m_burst ? tokens - m_burst : 0; }

    BucketConfig m_config;
    uint64_t m_budget;
    uint64_t m_debt = 0;
    uint64_t m_burst;
    uint64_t m_last_ns;
    uint64_t m_refill_ns;  // refill_time_ms in ns, at most UINT64_MAX (about 584 years)
    // Earned but not yet whole tokens, in token-nanoseconds (< m_refill_ns): tokens =
    // (elapsed_ns * size + m_partial) / m_refill_ns, the remainder carried to the next refill.
    uint64_t m_partial = 0;
};

}  // namespace trapeze::ratelimit
