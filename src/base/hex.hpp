// Hex text as the GDB remote serial protocol writes numbers and data (GDB manual, "Remote
// Protocol" > "Overview": numbers are hex without a prefix, most significant digit first;
// memory and register contents are two hex digits per byte, in target byte order), and as the
// replay machine description writes the boot seed.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace trapeze {

// The value of one hex digit (either case), or -1.
int hex_digit_value(char c);

// A number: one or more hex digits and nothing else; nullopt if it is empty, has any other
// character or does not fit 64 bits (leading zeros do not count against that).
std::optional<uint64_t> parse_hex_u64(std::string_view text);

// Two digits per byte; nullopt for an odd length or a character that is not a hex digit.
std::optional<std::vector<uint8_t>> hex_to_bytes(std::string_view hex);

// Lower-case, two digits per byte.
std::string bytes_to_hex(std::span<const uint8_t> bytes);
std::string text_to_hex(std::string_view text);
void append_hex_byte(std::string& out, uint8_t byte);

}  // namespace trapeze
