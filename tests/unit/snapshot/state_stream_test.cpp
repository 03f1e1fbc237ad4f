// StateWriter/StateReader: the byte encoding of every saved State. The reader takes untrusted
// bytes, so each way a field can be bad must fail the reader (sticky, first reason kept) and
// finish() must report it; no length in the data may make it read or allocate past its bounds.
#include <gtest/gtest.h>

#include <array>
#include <limits>
#include <vector>

#include "snapshot/state_stream.hpp"
#include "snapshot_test_util.hpp"

namespace trapeze::snapshot::test {
namespace {

// The reader keeps a view of the bytes: callers pass data that outlives it (never a temporary).
StateReader reader(const std::vector<uint8_t>& bytes) { return StateReader(bytes, "the test data"); }

// Every field type written is read back as written, little-endian, with nothing left over.
TEST(StateStream, RoundTripOfEveryFieldType) {
    StateWriter w;
    w.u8(0xab);
    w.u16(0xbeef);
    w.u32(0xdeadbeef);
    w.u64(0x0123456789abcdefull);
    w.boolean(true);
    w.boolean(false);
    const std::array<uint8_t, 3> raw{1, 2, 3};
    w.raw(raw);
    w.bytes(std::vector<uint8_t>{9, 8, 7, 6});
    w.string("hart0");
    w.bytes({});
    const auto data = w.take();
    // The layout is fixed: the u16 right after the u8, least significant byte first.
    EXPECT_EQ(data[1], 0xef);
    EXPECT_EQ(data[2], 0xbe);

    auto r = reader(data);
    EXPECT_EQ(r.u8(), 0xab);
    EXPECT_EQ(r.u16(), 0xbeef);
    EXPECT_EQ(r.u32(), 0xdeadbeefu);
    EXPECT_EQ(r.u64(), 0x0123456789abcdefull);
    EXPECT_TRUE(r.boolean());
    EXPECT_FALSE(r.boolean());
    std::array<uint8_t, 3> raw_back{};
    r.raw(raw_back);
    EXPECT_EQ(raw_back, raw);
    EXPECT_EQ(r.bytes(4), (std::vector<uint8_t>{9, 8, 7, 6}));
    EXPECT_EQ(r.string(16), "hart0");
    EXPECT_TRUE(r.bytes(0).empty());
    EXPECT_TRUE(r.finish().ok()) << r.finish().error().message;
}

// A field cut short fails the reader and reads as 0, and finish() names the data.
TEST(StateStream, TruncatedFieldFails) {
    const std::vector<uint8_t> data{1, 2, 3};
    auto r = reader(data);
    EXPECT_EQ(r.u32(), 0u);
    EXPECT_TRUE(r.failed());
    EXPECT_TRUE(fails_with(r.finish(), "the test data"));
    EXPECT_TRUE(fails_with(r.finish(), "runs past the end"));
}

// Once failed, every later read returns 0 and the first reason is the one reported, so a
// decoder can read straight through and check once.
TEST(StateStream, FailureIsStickyAndKeepsTheFirstReason) {
    const std::vector<uint8_t> data{2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    auto r = reader(data);
    r.boolean();  // 2: not a boolean
    EXPECT_TRUE(r.failed());
    EXPECT_EQ(r.u64(), 0u) << "a failed reader must not go on reading";
    r.fail("a later reason");
    EXPECT_TRUE(fails_with(r.finish(), "a boolean at offset 0 is 2"));
}

// Booleans are 0 or 1; any other byte is damage, not "true".
TEST(StateStream, BooleanTwoFails) {
    const std::vector<uint8_t> data{2};
    auto r = reader(data);
    EXPECT_FALSE(r.boolean());
    EXPECT_TRUE(fails_with(r.finish(), "boolean"));
}

// raw() into a buffer the data cannot fill fails and leaves the buffer zeroed, not stale.
TEST(StateStream, RawPastTheEndZeroesTheOutput) {
    const std::vector<uint8_t> data{1, 2};
    auto r = reader(data);
    std::array<uint8_t, 4> out{7, 7, 7, 7};
    r.raw(out);
    EXPECT_EQ(out, (std::array<uint8_t, 4>{}));
    EXPECT_TRUE(r.failed());
}

// count() is bounded by the caller's maximum ...
TEST(StateStream, CountAboveTheLimitFails) {
    StateWriter w;
    w.u32(5);
    for (int i = 0; i < 100; ++i) w.u8(0);
    auto r = reader(w.data());
    EXPECT_EQ(r.count(4, 1), 0u);
    EXPECT_TRUE(fails_with(r.finish(), "count"));
}

// ... and by what the remaining bytes can hold at min_bytes each, so a huge count in a short
// section cannot drive a decoder's loop (or a resize) far past the data.
TEST(StateStream, CountBeyondTheRemainingBytesFails) {
    StateWriter w;
    w.u32(3);
    for (int i = 0; i < 3 * 8 - 1; ++i) w.u8(0);  // room for two 8-byte elements, not three
    auto r = reader(w.data());
    EXPECT_EQ(r.count(1000, 8), 0u);
    EXPECT_TRUE(fails_with(r.finish(), "count"));

    auto fits = reader(w.data());
    EXPECT_EQ(fits.count(1000, 7), 3u) << "three 7-byte elements do fit";
}

// A count of UINT32_MAX with min_bytes 0 is still bounded (min_bytes counts as at least 1).
TEST(StateStream, HugeCountWithZeroMinBytesFails) {
    StateWriter w;
    w.u32(std::numeric_limits<uint32_t>::max());
    auto r = reader(w.data());
    EXPECT_EQ(r.count(std::numeric_limits<uint32_t>::max(), 0), 0u);
    EXPECT_TRUE(r.failed());
}

// bytes() refuses a length above the caller's maximum before it looks at (or allocates for) the data.
TEST(StateStream, BytesLongerThanMaxFails) {
    StateWriter w;
    w.bytes(std::vector<uint8_t>(10, 0x55));
    auto r = reader(w.data());
    EXPECT_TRUE(r.bytes(9).empty());
    EXPECT_TRUE(fails_with(r.finish(), "more than 9"));
}

// A length within the maximum but beyond the data fails too (no over-read).
TEST(StateStream, BytesLongerThanTheDataFails) {
    StateWriter w;
    w.u32(0xffffffff);
    w.u8(1);
    auto r = reader(w.data());
    EXPECT_TRUE(r.bytes(std::numeric_limits<size_t>::max()).empty());
    EXPECT_TRUE(fails_with(r.finish(), "runs past the end"));
}

// finish() also refuses bytes nobody read: a section longer than its State is not that State.
TEST(StateStream, FinishWithLeftoverBytesFails) {
    const std::vector<uint8_t> data{1, 2, 3};
    auto r = reader(data);
    r.u16();
    EXPECT_FALSE(r.failed());
    EXPECT_TRUE(fails_with(r.finish(), "1 bytes left over"));
}

// A decoder's own range check fails the reader like a framing error.
TEST(StateStream, DecoderFailIsReported) {
    const std::vector<uint8_t> data;
    auto r = reader(data);
    r.fail("priv 2");
    EXPECT_TRUE(fails_with(r.finish(), "priv 2"));
}

// An empty reader finishes cleanly; any read of it fails.
TEST(StateStream, EmptyData) {
    const std::vector<uint8_t> none;
    EXPECT_TRUE(reader(none).finish().ok());
    auto r = reader(none);
    r.u8();
    EXPECT_FALSE(r.finish().ok());
}

}  // namespace
}  // namespace trapeze::snapshot::test
