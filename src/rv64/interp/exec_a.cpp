// A extension (unpriv spec ch. 8). Every AMO is one atomic read-modify-write of host memory
// and SC one compare-and-swap, so they stay atomic when harts run on several host threads
// (sequentially consistent: at least what any aq/rl combination asks, §8.4, RVWMO §17).
// RAM is little-endian on both sides, and amo_pointer guarantees natural alignment, so a
// guest word is a host std::atomic_ref.
#include <algorithm>
#include <array>
#include <atomic>
#include <span>

#include "rv64/interp/exec.hpp"
#include "rv64/isa/lr_sequence.hpp"

namespace trapeze::rv64::interp {

namespace {

template <typename T>
uint64_t widen(T v) {
    // .W results are sign-extended (unpriv spec §8.4).
    return static_cast<uint64_t>(static_cast<int64_t>(static_cast<std::make_signed_t<T>>(v)));
}

template <typename T>
std::atomic_ref<T> word_at(uint8_t* p) {
    return std::atomic_ref<T>(*reinterpret_cast<T*>(p));
}

// Whether the LR at pc starts a constrained sequence (rv64/isa/lr_sequence.hpp): decided when
// its block was decoded, or now, reading what follows through the current fetch translation
// without side effects (the sequence runs past the LR's page, or the LR was decoded alone).
bool starts_constrained(const Hart& h, const DecodedInsn& d) {
    if (d.imm != kLrUndecided) return d.imm != kLrUnconstrained;
    std::array<uint16_t, kLrScScanBytes / 2> parcels{};
    const size_t n = h.peek_code(h.s.pc + d.len, parcels);
    return classify_lr(d.len, std::span(parcels).first(n), kLrUnconstrained) != kLrUnconstrained;
}

// §8.2, §8.3: the LR of an unconstrained sequence makes no reservation, so its SC fails (the
// value compare of do_sc could not see another hart's A-B-A in between).
template <typename T>
bool do_lr(Hart& h, const DecodedInsn& d) {
    uint64_t pa = 0;
    uint8_t* p = h.amo_pointer(h.s.x[d.rs1], sizeof(T), Access::Read, &pa);
    if (p == nullptr) return false;
    const T v = word_at<T>(p).load(std::memory_order_seq_cst);
    h.s.x[d.rd] = widen(v);
    h.s.reservation_valid = starts_constrained(h, d);
    if (!h.s.reservation_valid) return true;
    h.s.reservation = pa;
    h.s.reservation_value = v;
    return true;
}

// §8.2: the SC fails unless the reservation is this address and memory still holds what LR
// read (a compare-and-swap: a store of a different value by any hart in between fails it; the
// same value stored back cannot be told apart, which only constrained sequences make exact,
// see rv64/isa/lr_sequence.hpp).
template <typename T>
bool do_sc(Hart& h, const DecodedInsn& d) {
    uint64_t pa = 0;
    uint8_t* p = h.amo_pointer(h.s.x[d.rs1], sizeof(T), Access::Write, &pa);
    if (p == nullptr) return false;
    bool ok = h.s.reservation_valid && h.s.reservation == pa;
    h.s.reservation_valid = false;  // SC always invalidates the reservation (§8.2)
    if (ok) {
        T expected = static_cast<T>(h.s.reservation_value);
        ok = word_at<T>(p).compare_exchange_strong(expected, static_cast<T>(h.s.x[d.rs2]), std::memory_order_seq_cst);
    }
    h.s.x[d.rd] = ok ? 0 : 1;
    return true;
}

template <typename T, typename F>
bool do_amo(Hart& h, const DecodedInsn& d, F op) {
    uint8_t* p = h.amo_pointer(h.s.x[d.rs1], sizeof(T), Access::Write, nullptr);
    if (p == nullptr) return false;
    const T src = static_cast<T>(h.s.x[d.rs2]);
    std::atomic_ref<T> word = word_at<T>(p);
    T old = word.load(std::memory_order_relaxed);
    while (!word.compare_exchange_weak(old, op(old, src), std::memory_order_seq_cst, std::memory_order_relaxed)) {}
    h.s.x[d.rd] = widen(old);
    return true;
}

template <typename T>
using S = std::make_signed_t<T>;

}  // namespace

#define TRAPEZE_AMO_PAIR(name, expr)                                                        \
    bool exec_##name##_w(Hart& h, const DecodedInsn& d) {                                   \
        using T = uint32_t;                                                                 \
        return do_amo<T>(h, d, [](T a, T b) -> T { return expr; });                         \
    }                                                                                       \
    bool exec_##name##_d(Hart& h, const DecodedInsn& d) {                                   \
        using T = uint64_t;                                                                 \
        return do_amo<T>(h, d, [](T a, T b) -> T { return expr; });                         \
    }

TRAPEZE_AMO_PAIR(amoswap, (static_cast<void>(a), b))
TRAPEZE_AMO_PAIR(amoadd, static_cast<T>(a + b))
TRAPEZE_AMO_PAIR(amoxor, static_cast<T>(a ^ b))
TRAPEZE_AMO_PAIR(amoand, static_cast<T>(a & b))
TRAPEZE_AMO_PAIR(amoor, static_cast<T>(a | b))
TRAPEZE_AMO_PAIR(amomin, static_cast<T>(std::min(static_cast<S<T>>(a), static_cast<S<T>>(b))))
TRAPEZE_AMO_PAIR(amomax, static_cast<T>(std::max(static_cast<S<T>>(a), static_cast<S<T>>(b))))
TRAPEZE_AMO_PAIR(amominu, std::min(a, b))
TRAPEZE_AMO_PAIR(amomaxu, std::max(a, b))
#undef TRAPEZE_AMO_PAIR

bool exec_lr_w(Hart& h, const DecodedInsn& d) { return do_lr<uint32_t>(h, d); }
bool exec_lr_d(Hart& h, const DecodedInsn& d) { return do_lr<uint64_t>(h, d); }
bool exec_sc_w(Hart& h, const DecodedInsn& d) { return do_sc<uint32_t>(h, d); }
bool exec_sc_d(Hart& h, const DecodedInsn& d) { return do_sc<uint64_t>(h, d); }

}  // namespace trapeze::rv64::interp
