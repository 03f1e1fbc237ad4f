// A extension (unpriv spec ch. 8). Harts of one machine take turns on one host thread,
// so a read-modify-write on the host pointer is atomic with respect to the guest.
#include <algorithm>

#include "rv64/interp/exec.hpp"

namespace trapeze::rv64::interp {

namespace {

template <typename T>
uint64_t widen(T v) {
    // .W results are sign-extended (unpriv spec §8.4).
    return static_cast<uint64_t>(static_cast<int64_t>(static_cast<std::make_signed_t<T>>(v)));
}

template <typename T>
bool do_lr(Hart& h, const DecodedInsn& d) {
    uint64_t pa = 0;
    uint8_t* p = h.amo_pointer(h.s.x[d.rs1], sizeof(T), Access::Read, &pa);
    if (p == nullptr) return false;
    h.s.x[d.rd] = widen(load_le<T>(p));
    h.s.reservation_valid = true;
    h.s.reservation = pa;
    return true;
}

template <typename T>
bool do_sc(Hart& h, const DecodedInsn& d) {
    uint64_t pa = 0;
    uint8_t* p = h.amo_pointer(h.s.x[d.rs1], sizeof(T), Access::Write, &pa);
    if (p == nullptr) return false;
    const bool ok = h.s.reservation_valid && h.s.reservation == pa;
    h.s.reservation_valid = false;  // SC always invalidates the reservation (§8.2)
    if (ok) store_le<T>(p, static_cast<T>(h.s.x[d.rs2]));
    h.s.x[d.rd] = ok ? 0 : 1;
    return true;
}

template <typename T, typename F>
bool do_amo(Hart& h, const DecodedInsn& d, F op) {
    uint8_t* p = h.amo_pointer(h.s.x[d.rs1], sizeof(T), Access::Write, nullptr);
    if (p == nullptr) return false;
    const T old = load_le<T>(p);
    store_le<T>(p, op(old, static_cast<T>(h.s.x[d.rs2])));
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
