// CRC-64/XZ, the state file's checksum: it must be the standard one (so `xz`/Go's crc64.ECMA
// can check a file by hand) and continue across calls (the writer may hash in pieces).
#include <gtest/gtest.h>

#include <random>
#include <span>
#include <vector>

#include "snapshot/crc64.hpp"
#include "snapshot_test_util.hpp"

namespace trapeze::snapshot::test {
namespace {

// The catalogue's check value for CRC-64/XZ: any other polynomial, reflection or xor-out differs.
TEST(Crc64, CheckValueOfTheStandardString) {
    const auto s = bytes_of("123456789");
    EXPECT_EQ(crc64(s), 0x995dc9bbdf1939faull);
}

// No data leaves the running value as it was (the all-ones init and xor-out cancel).
TEST(Crc64, EmptyInputIsTheIdentity) {
    EXPECT_EQ(crc64({}), 0u);
    EXPECT_EQ(crc64({}, 0x1234), 0x1234u);
}

// crc64(b, crc64(a)) == crc64(a ++ b) at every split point, as the header promises.
TEST(Crc64, ContinuesAcrossCallsAtEverySplit) {
    std::vector<uint8_t> data(300);
    std::mt19937 rng(7);
    for (auto& b : data) b = static_cast<uint8_t>(rng());
    const uint64_t whole = crc64(data);
    const std::span<const uint8_t> all(data);
    for (size_t cut = 0; cut <= data.size(); ++cut)
        ASSERT_EQ(crc64(all.subspan(cut), crc64(all.first(cut))), whole) << "split at " << cut;
}

// One flipped bit anywhere changes the checksum (what makes a damaged state file detectable).
TEST(Crc64, EverySingleBitFlipChangesIt) {
    auto data = bytes_of("a snapshot section payload");
    const uint64_t good = crc64(data);
    for (size_t i = 0; i < data.size() * 8; ++i) {
        data[i / 8] ^= static_cast<uint8_t>(1u << (i % 8));
        ASSERT_NE(crc64(data), good) << "bit " << i;
        data[i / 8] ^= static_cast<uint8_t>(1u << (i % 8));
    }
}

}  // namespace
}  // namespace trapeze::snapshot::test
