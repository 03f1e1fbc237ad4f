#include "virtio/split_virtqueue.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "fake_guest.hpp"

namespace trapeze::virtio::test {
namespace {

class Virtqueue : public ::testing::Test {
protected:
    SplitVirtqueue make(bool event_idx = false) { return SplitVirtqueue(g.mem, g.layout, event_idx); }

    // Every span handed out must lie inside guest RAM.
    void expect_inside_ram(const DescriptorChain& c) {
        const uint8_t* lo = g.mem.host_base();
        const uint8_t* hi = lo + g.mem.size();
        for (const auto* list : {&c.readable, &c.writable})
            for (const auto& s : *list) {
                if (!s.empty()) {
                    EXPECT_TRUE(s.data() >= lo && s.data() + s.size() <= hi);
                }
            }
    }

    QueueError pop_error(SplitVirtqueue& q) {
        DescriptorChain c;
        EXPECT_EQ(q.pop(c), PopStatus::Error);
        expect_inside_ram(c);
        return q.error();
    }

    FakeGuest g;
    DescriptorChain chain;
};

TEST_F(Virtqueue, PopsNothingFromAnEmptyQueue) {
    auto q = make();
    EXPECT_EQ(q.pop(chain), PopStatus::Empty);
}

TEST_F(Virtqueue, PopsAnOrdinaryChainWithReadableThenWritableBuffers) {
    auto q = make();
    const Buf in = g.readable({1, 2, 3});
    const Buf out = g.writable(8);
    g.publish(g.add_chain({in, out}));
    ASSERT_EQ(q.pop(chain), PopStatus::Chain);
    ASSERT_EQ(chain.readable.size(), 1u);
    ASSERT_EQ(chain.writable.size(), 1u);
    EXPECT_EQ(chain.readable[0][2], 3);
    EXPECT_EQ(chain.writable[0].size(), 8u);
    EXPECT_EQ(chain.writable[0].data(), g.mem.span(out.gpa, 8).data());
    EXPECT_EQ(q.pop(chain), PopStatus::Empty);
}

TEST_F(Virtqueue, ReturnsChainsToTheDriverThroughTheUsedRing) {
    auto q = make();
    const uint16_t head = g.add_chain({g.writable(4)});
    g.publish(head);
    ASSERT_EQ(q.pop(chain), PopStatus::Chain);
    q.add_used(chain, 4);
    EXPECT_EQ(g.used_idx(), 1);
    EXPECT_EQ(g.used(0).id, head);
    EXPECT_EQ(g.used(0).len, 4u);
}

TEST_F(Virtqueue, ReportsDeviceWritesSoEnginesCanDropStaleCode) {
    std::vector<std::pair<uint64_t, uint64_t>> written;
    g.mem.set_write_observer([&](Gpa gpa, uint64_t len) { written.emplace_back(gpa.value, len); });
    auto q = make();
    const Buf out = g.writable(24);
    g.publish(g.add_chain({g.readable({1}), out}));
    ASSERT_EQ(q.pop(chain), PopStatus::Chain);
    q.add_used(chain, 24);
    EXPECT_NE(std::find(written.begin(), written.end(), std::make_pair(out.gpa.value, uint64_t{24})), written.end());
    EXPECT_NE(std::find(written.begin(), written.end(), std::make_pair(g.layout.used.value + 2, uint64_t{2})),
              written.end());
}

TEST_F(Virtqueue, FollowsAnIndirectTable) {
    auto q = make();
    g.publish(g.add_indirect_chain({g.readable({9}), g.readable({8, 7}), g.writable(16)}));
    ASSERT_EQ(q.pop(chain), PopStatus::Chain);
    EXPECT_EQ(chain.readable.size(), 2u);
    EXPECT_EQ(total_bytes(chain.readable), 3u);
    EXPECT_EQ(total_bytes(chain.writable), 16u);
}

TEST_F(Virtqueue, WrapsAroundTheRingsIndices) {
    auto q = make();
    for (int i = 0; i < 40; ++i) {
        g.publish(g.add_chain({g.readable({static_cast<uint8_t>(i)})}));
        ASSERT_EQ(q.pop(chain), PopStatus::Chain);
        EXPECT_EQ(chain.readable[0][0], i);
        q.add_used(chain, 0);
    }
    EXPECT_EQ(g.used_idx(), 40);
}

TEST_F(Virtqueue, RejectsAHeadIndexBeyondTheQueueSize) {
    auto q = make();
    g.publish(16);
    EXPECT_EQ(pop_error(q), QueueError::DescIndexOutOfRange);
}

TEST_F(Virtqueue, RejectsANextIndexBeyondTheQueueSize) {
    auto q = make();
    g.set_desc(0, g.alloc(4).value, 4, VIRTQ_DESC_F_NEXT, 200);
    g.publish(0);
    EXPECT_EQ(pop_error(q), QueueError::DescIndexOutOfRange);
}

TEST_F(Virtqueue, RejectsALoopedDescriptorChain) {
    auto q = make();
    const Gpa b = g.alloc(4);
    g.set_desc(0, b.value, 4, VIRTQ_DESC_F_NEXT, 1);
    g.set_desc(1, b.value, 4, VIRTQ_DESC_F_NEXT, 0);
    g.publish(0);
    EXPECT_EQ(pop_error(q), QueueError::ChainTooLong);
}

TEST_F(Virtqueue, RejectsADescriptorThatPointsToItself) {
    auto q = make();
    g.set_desc(3, g.alloc(4).value, 4, VIRTQ_DESC_F_NEXT, 3);
    g.publish(3);
    EXPECT_EQ(pop_error(q), QueueError::ChainTooLong);
}

TEST_F(Virtqueue, RejectsALoopInsideAnIndirectTable) {
    auto q = make();
    const Gpa table = g.alloc(32);
    const Gpa b = g.alloc(4);
    g.set_desc(0, b.value, 4, VIRTQ_DESC_F_NEXT, 1, table);
    g.set_desc(1, b.value, 4, VIRTQ_DESC_F_NEXT, 0, table);
    g.set_desc(0, table.value, 32, VIRTQ_DESC_F_INDIRECT, 0);
    g.publish(0);
    EXPECT_EQ(pop_error(q), QueueError::ChainTooLong);
}

TEST_F(Virtqueue, RejectsANestedIndirectTable) {
    auto q = make();
    const Gpa inner = g.alloc(16);
    g.set_desc(0, g.alloc(4).value, 4, 0, 0, inner);
    const Gpa outer = g.alloc(16);
    g.set_desc(0, inner.value, 16, VIRTQ_DESC_F_INDIRECT, 0, outer);
    g.set_desc(0, outer.value, 16, VIRTQ_DESC_F_INDIRECT, 0);
    g.publish(0);
    EXPECT_EQ(pop_error(q), QueueError::IndirectNested);
}

TEST_F(Virtqueue, RejectsAnIndirectDescriptorThatAlsoHasNext) {
    auto q = make();
    const Gpa table = g.alloc(16);
    g.set_desc(0, g.alloc(4).value, 4, 0, 0, table);
    g.set_desc(0, table.value, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
    g.publish(0);
    EXPECT_EQ(pop_error(q), QueueError::IndirectWithNext);
}

TEST_F(Virtqueue, RejectsAnEmptyIndirectTable) {
    auto q = make();
    g.set_desc(0, g.alloc(16).value, 0, VIRTQ_DESC_F_INDIRECT, 0);
    g.publish(0);
    EXPECT_EQ(pop_error(q), QueueError::IndirectBadLength);
}

TEST_F(Virtqueue, RejectsAnIndirectTableWhoseLengthIsNotAMultipleOf16) {
    auto q = make();
    g.set_desc(0, g.alloc(32).value, 24, VIRTQ_DESC_F_INDIRECT, 0);
    g.publish(0);
    EXPECT_EQ(pop_error(q), QueueError::IndirectBadLength);
}

TEST_F(Virtqueue, RejectsAnIndirectTableLargerThanTheQueue) {
    auto q = make();
    g.set_desc(0, g.alloc(16 * 17).value, 16 * 17, VIRTQ_DESC_F_INDIRECT, 0);
    g.publish(0);
    EXPECT_EQ(pop_error(q), QueueError::ChainTooLong);
}

TEST_F(Virtqueue, RejectsAnIndirectTableOutsideRam) {
    auto q = make();
    g.set_desc(0, kRamBase + kRamSize - 16, 32, VIRTQ_DESC_F_INDIRECT, 0);
    g.publish(0);
    EXPECT_EQ(pop_error(q), QueueError::BufferOutsideRam);
}

TEST_F(Virtqueue, RejectsABufferOutsideRam) {
    auto q = make();
    g.set_desc(0, kRamBase - 4096, 16, 0, 0);
    g.publish(0);
    EXPECT_EQ(pop_error(q), QueueError::BufferOutsideRam);
}

TEST_F(Virtqueue, RejectsABufferRunningPastTheEndOfRam) {
    auto q = make();
    g.set_desc(0, kRamBase + kRamSize - 8, 16, VIRTQ_DESC_F_WRITE, 0);
    g.publish(0);
    EXPECT_EQ(pop_error(q), QueueError::BufferOutsideRam);
}

TEST_F(Virtqueue, RejectsABufferWhoseEndWrapsTheAddressSpace) {
    auto q = make();
    g.set_desc(0, 0xffff'ffff'ffff'f000, 0x2000, 0, 0);
    g.publish(0);
    EXPECT_EQ(pop_error(q), QueueError::BufferOutsideRam);
}

TEST_F(Virtqueue, RejectsAReadableDescriptorAfterAWritableOne) {
    auto q = make();
    g.publish(g.add_chain({g.writable(4), g.readable({1})}));
    EXPECT_EQ(pop_error(q), QueueError::ReadableAfterWritable);
}

TEST_F(Virtqueue, RejectsAnAvailIndexMoreThanAQueueSizeAhead) {
    auto q = make();
    g.set_avail_idx(17);
    EXPECT_EQ(pop_error(q), QueueError::AvailIdxTooFarAhead);
}

TEST_F(Virtqueue, StaysBrokenAfterAnErrorEvenIfTheDriverFixesTheRing) {
    auto q = make();
    g.publish(99);
    EXPECT_EQ(pop_error(q), QueueError::DescIndexOutOfRange);
    g.publish(g.add_chain({g.readable({1})}));
    EXPECT_EQ(pop_error(q), QueueError::DescIndexOutOfRange);
}

TEST_F(Virtqueue, RejectsLayoutsThatAreMisalignedOutsideRamOrNotAPowerOfTwo) {
    EXPECT_EQ(SplitVirtqueue::check_layout(g.mem, g.layout, true), QueueError::None);
    auto bad = g.layout;
    bad.size = 12;
    EXPECT_EQ(SplitVirtqueue::check_layout(g.mem, bad, false), QueueError::BadLayout);
    bad = g.layout;
    bad.desc = bad.desc + 8;
    EXPECT_EQ(SplitVirtqueue::check_layout(g.mem, bad, false), QueueError::BadLayout);
    bad = g.layout;
    bad.used = Gpa(kRamBase + kRamSize - 64);
    EXPECT_EQ(SplitVirtqueue::check_layout(g.mem, bad, false), QueueError::BadLayout);
    bad = g.layout;
    bad.avail = Gpa(0xffff'ffff'ffff'fff0);
    EXPECT_EQ(SplitVirtqueue::check_layout(g.mem, bad, false), QueueError::BadLayout);
}

TEST_F(Virtqueue, NotifiesUnlessTheDriverSetsNoInterrupt) {
    auto q = make();
    g.publish(g.add_chain({g.writable(1)}));
    ASSERT_EQ(q.pop(chain), PopStatus::Chain);
    q.add_used(chain, 1);
    EXPECT_TRUE(q.needs_notification());
    EXPECT_FALSE(q.needs_notification()) << "nothing new was used";
    g.set_avail_flags(VIRTQ_AVAIL_F_NO_INTERRUPT);
    g.publish(g.add_chain({g.writable(1)}));
    ASSERT_EQ(q.pop(chain), PopStatus::Chain);
    q.add_used(chain, 1);
    EXPECT_FALSE(q.needs_notification());
}

TEST_F(Virtqueue, WithEventIdxNotifiesOnlyWhenUsedEventIsCrossed) {
    auto q = make(true);
    g.set_used_event(2);  // "interrupt me once the used index passes 2"
    for (int i = 0; i < 3; ++i) g.publish(g.add_chain({g.writable(1)}));
    std::vector<bool> notified;
    for (int i = 0; i < 3; ++i) {
        ASSERT_EQ(q.pop(chain), PopStatus::Chain);
        q.add_used(chain, 1);
        notified.push_back(q.needs_notification());
    }
    // The first check always notifies (nothing signalled yet); then only used idx 2 -> 3 crosses.
    EXPECT_EQ(notified, (std::vector<bool>{true, false, true}));
}

TEST_F(Virtqueue, WithEventIdxAsksForTheNextNotificationWhenItRunsDry) {
    auto q = make(true);
    g.publish(g.add_chain({g.readable({1})}));
    g.publish(g.add_chain({g.readable({2})}));
    ASSERT_EQ(q.pop(chain), PopStatus::Chain);
    ASSERT_EQ(q.pop(chain), PopStatus::Chain);
    EXPECT_EQ(q.pop(chain), PopStatus::Empty);
    EXPECT_EQ(g.avail_event(), 2);
}

}  // namespace
}  // namespace trapeze::virtio::test
