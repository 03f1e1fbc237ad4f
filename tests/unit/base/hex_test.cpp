// Hex as the remote protocol writes numbers and data: every 64-bit value parses, nothing longer
// or malformed does, and bytes survive the round trip.
#include "base/hex.hpp"

#include <gtest/gtest.h>

namespace trapeze {
namespace {

TEST(Hex, ParsesNumbersOfEitherCaseUpTo64Bits) {
    EXPECT_EQ(parse_hex_u64("0"), 0u);
    EXPECT_EQ(parse_hex_u64("FfA"), 0xffau);
    EXPECT_EQ(parse_hex_u64("ffffffffffffffff"), UINT64_MAX);
    EXPECT_EQ(parse_hex_u64("00000000000000000000001"), 1u);  // leading zeros are not overflow
}

TEST(Hex, RefusesEmptyMalformedAndOverflowingNumbers) {
    EXPECT_FALSE(parse_hex_u64(""));
    EXPECT_FALSE(parse_hex_u64("10000000000000000"));
    EXPECT_FALSE(parse_hex_u64("12g"));
    EXPECT_FALSE(parse_hex_u64("-1"));
    EXPECT_FALSE(parse_hex_u64(" 1"));
    EXPECT_FALSE(parse_hex_u64("0x10"));
}

TEST(Hex, BytesSurviveTheRoundTrip) {
    const std::vector<uint8_t> bytes{0x00, 0x7f, 0x80, 0xab, 0xff};
    EXPECT_EQ(bytes_to_hex(bytes), "007f80abff");
    EXPECT_EQ(hex_to_bytes("007F80abFF"), bytes);
    EXPECT_EQ(hex_to_bytes(""), std::vector<uint8_t>{});
}

TEST(Hex, RefusesOddLengthsAndNonDigits) {
    EXPECT_FALSE(hex_to_bytes("abc"));
    EXPECT_FALSE(hex_to_bytes("zz"));
    EXPECT_FALSE(hex_to_bytes("0 "));
}

TEST(Hex, EncodesTextAsGdbShowsConsoleOutput) {
    EXPECT_EQ(text_to_hex("OK\n"), "4f4b0a");
}

}  // namespace
}  // namespace trapeze
