// Aml: a tiny encoder for the ACPI Machine Language the DSDT needs (ACPI 6.5 §20.2, "AML
// Grammar Definition"): names, scopes, devices, packages, integers, strings, buffers, and the
// resource descriptors of §6.4 used by _CRS.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace trapeze::x86::aml {

using Bytes = std::vector<uint8_t>;

// §20.2.4 PkgLength: 1 to 4 bytes; the encoded length counts the PkgLength bytes themselves.
Bytes pkg_length(size_t content_length);
Bytes name_seg(std::string_view name);  // exactly 4 characters, or a rooted "\\_SB_"-style path segment
Bytes integer(uint64_t v);               // ZeroOp, OneOp or the smallest prefixed form
Bytes string(std::string_view s);
Bytes eisa_id(std::string_view id);      // "PNP0501" -> its compressed DWord
Bytes buffer(const Bytes& data);
Bytes package(const std::vector<Bytes>& elements);
Bytes name(std::string_view seg, const Bytes& value);            // Name (seg, value)
Bytes scope(std::string_view path, const std::vector<Bytes>& terms);   // path: "\\_SB_" etc.
Bytes device(std::string_view seg, const std::vector<Bytes>& terms);

// Resource descriptors (§6.4); resource_template() appends the End Tag.
Bytes io_port(uint16_t base, uint8_t length);                // IO (Decode16, base, base, 1, length)
Bytes irq_no_flags(uint8_t irq);                             // IRQNoFlags () {irq}: edge, active high
Bytes memory32_fixed(uint32_t base, uint32_t length);        // Memory32Fixed (ReadWrite, ...)
Bytes extended_interrupt_edge_high(uint32_t gsi);            // Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive)
Bytes resource_template(const std::vector<Bytes>& descriptors);

Bytes concat(const std::vector<Bytes>& parts);

}  // namespace trapeze::x86::aml
