#include "arch/x86_64/aml.hpp"

#include <cassert>

namespace trapeze::x86::aml {
namespace {

constexpr uint8_t kZeroOp = 0x00;
constexpr uint8_t kOneOp = 0x01;
constexpr uint8_t kNameOp = 0x08;
constexpr uint8_t kBytePrefix = 0x0a;
constexpr uint8_t kWordPrefix = 0x0b;
constexpr uint8_t kDWordPrefix = 0x0c;
constexpr uint8_t kStringPrefix = 0x0d;
constexpr uint8_t kQWordPrefix = 0x0e;
constexpr uint8_t kScopeOp = 0x10;
constexpr uint8_t kBufferOp = 0x11;
constexpr uint8_t kPackageOp = 0x12;
constexpr uint8_t kExtOpPrefix = 0x5b;
constexpr uint8_t kDeviceOp = 0x82;  // after ExtOpPrefix
constexpr uint8_t kRootChar = '\\';

// Element-wise: GCC 12's -Warray-bounds misfires on vector::insert of short vectors here.
void append(Bytes& out, const Bytes& b) {
    out.reserve(out.size() + b.size());
    for (uint8_t x : b) out.push_back(x);
}

void append_le(Bytes& out, uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

// A NameString: an optional root prefix and one NameSeg (all this DSDT needs).
Bytes name_string(std::string_view path) {
    Bytes out;
    if (!path.empty() && path[0] == '\\') {
        out.push_back(kRootChar);
        path.remove_prefix(1);
    }
    append(out, name_seg(path));
    return out;
}

Bytes with_pkg_length(std::vector<uint8_t> prefix, const Bytes& body) {
    append(prefix, pkg_length(body.size()));
    append(prefix, body);
    return prefix;
}

}  // namespace

Bytes pkg_length(size_t n) {
    if (n + 1 < 0x40) return {static_cast<uint8_t>(n + 1)};
    for (uint8_t extra = 1; extra <= 3; ++extra) {
        const size_t total = n + 1 + extra;
        if (total >= (size_t{1} << (4u + 8u * extra))) continue;
        Bytes out{static_cast<uint8_t>((size_t{extra} << 6) | (total & 0xf))};
        for (uint8_t i = 0; i < extra; ++i) out.push_back(static_cast<uint8_t>(total >> (4u + 8u * i)));
        return out;
    }
    assert(false && "AML package too long");
    return {};
}

Bytes name_seg(std::string_view name) {
    assert(name.size() == 4);
    return Bytes(name.begin(), name.end());
}

Bytes integer(uint64_t v) {
    if (v == 0) return {kZeroOp};
    if (v == 1) return {kOneOp};
    Bytes out;
    if (v <= 0xff) {
        out.push_back(kBytePrefix);
        append_le(out, v, 1);
    } else if (v <= 0xffff) {
        out.push_back(kWordPrefix);
        append_le(out, v, 2);
    } else if (v <= 0xffffffff) {
        out.push_back(kDWordPrefix);
        append_le(out, v, 4);
    } else {
        out.push_back(kQWordPrefix);
        append_le(out, v, 8);
    }
    return out;
}

Bytes string(std::string_view s) {
    Bytes out{kStringPrefix};
    for (char c : s) out.push_back(static_cast<uint8_t>(c));
    out.push_back(0);
    return out;
}

Bytes eisa_id(std::string_view id) {
    // §19.6.35 EISAID: three letters of 5 bits each, then four hex digits, stored big-endian.
    assert(id.size() == 7);
    auto hex = [](char c) { return static_cast<uint32_t>(c <= '9' ? c - '0' : c - 'A' + 10); };
    uint32_t v = (static_cast<uint32_t>(id[0] - 0x40) << 26) | (static_cast<uint32_t>(id[1] - 0x40) << 21) |
                 (static_cast<uint32_t>(id[2] - 0x40) << 16) | (hex(id[3]) << 12) | (hex(id[4]) << 8) |
                 (hex(id[5]) << 4) | hex(id[6]);
    v = __builtin_bswap32(v);
    Bytes out{kDWordPrefix};
    append_le(out, v, 4);
    return out;
}

Bytes buffer(const Bytes& data) {
    Bytes body = integer(data.size());
    append(body, data);
    return with_pkg_length({kBufferOp}, body);
}

Bytes package(const std::vector<Bytes>& elements) {
    Bytes body{static_cast<uint8_t>(elements.size())};
    for (const auto& e : elements) append(body, e);
    return with_pkg_length({kPackageOp}, body);
}

Bytes name(std::string_view seg, const Bytes& value) {
    Bytes out{kNameOp};
    append(out, name_string(seg));
    append(out, value);
    return out;
}

Bytes scope(std::string_view path, const std::vector<Bytes>& terms) {
    Bytes body = name_string(path);
    for (const auto& t : terms) append(body, t);
    return with_pkg_length({kScopeOp}, body);
}

Bytes device(std::string_view seg, const std::vector<Bytes>& terms) {
    Bytes body = name_string(seg);
    for (const auto& t : terms) append(body, t);
    return with_pkg_length({kExtOpPrefix, kDeviceOp}, body);
}

Bytes io_port(uint16_t base, uint8_t length) {
    // §6.4.2.5 I/O Port Descriptor: 0x47, decode16, min, max, alignment, length.
    Bytes out{0x47, 0x01};
    append_le(out, base, 2);
    append_le(out, base, 2);
    out.push_back(1);
    out.push_back(length);
    return out;
}

Bytes irq_no_flags(uint8_t irq) {
    // §6.4.2.1 IRQ Descriptor, 2-byte form (edge, active high).
    const auto mask = static_cast<uint16_t>(1u << irq);
    Bytes out{0x22};
    append_le(out, mask, 2);
    return out;
}

Bytes memory32_fixed(uint32_t base, uint32_t length) {
    // §6.4.3.4 32-Bit Fixed Memory Range Descriptor: 0x86, length 9, read/write.
    Bytes out{0x86, 0x09, 0x00, 0x01};
    append_le(out, base, 4);
    append_le(out, length, 4);
    return out;
}

Bytes extended_interrupt_edge_high(uint32_t gsi) {
    // §6.4.3.6 Extended Interrupt Descriptor: 0x89, length 6, flags (consumer | edge), count 1.
    Bytes out{0x89, 0x06, 0x00, 0x03, 0x01};
    append_le(out, gsi, 4);
    return out;
}

Bytes resource_template(const std::vector<Bytes>& descriptors) {
    Bytes data = concat(descriptors);
    data.push_back(0x79);  // §6.4.2.9 End Tag
    data.push_back(0x00);  // checksum 0: "treated as if the checksum operation succeeded"
    return buffer(data);
}

Bytes concat(const std::vector<Bytes>& parts) {
    Bytes out;
    for (const auto& p : parts) append(out, p);
    return out;
}

}  // namespace trapeze::x86::aml
