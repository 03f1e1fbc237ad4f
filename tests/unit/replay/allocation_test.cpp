// A hart or VMM thread records events as they arrive: LogWriter::append must not allocate
// (a malloc per event on the hot path would be a lock and a cost the recording cannot bound),
// nor LogReader::next per event. Counted by replacing the global operator new in this test
// program; zstd's own workspace is allocated with malloc once, at the first chunk, and reused.
#include <atomic>
#include <cstdlib>
#include <new>

#include "replay_test_util.hpp"

namespace {

std::atomic<bool> g_counting{false};
std::atomic<uint64_t> g_allocations{0};

}  // namespace

void* operator new(std::size_t n) {
    if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
    throw std::bad_alloc();
}
// GCC sees free() of what it takes for operator new's memory; here operator new is malloc.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void operator delete(void* p) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
    std::free(p);
}

namespace trapeze::replay::test {
namespace {

// Counts the C++ allocations of f().
template <typename F>
uint64_t allocations_of(F f) {
    g_allocations = 0;
    g_counting = true;
    f();
    g_counting = false;
    return g_allocations;
}

TEST(ReplayLogAllocation, AppendAndNextAllocateNothingPerEvent) {
    TempDir dir;
    auto w = LogWriter::create(dir.path("log"), test_header(), {.chunk_bytes = 8192});
    ASSERT_TRUE(w.ok()) << w.error().message;
    const auto payload = bytes(300, 1);
    ASSERT_TRUE(w->append(1000, EventKind::NetFrame, 0, payload).ok());  // zstd's context is made at the first chunk
    ASSERT_TRUE(w->flush().ok());
    bool all_ok = true;
    const uint64_t writes = allocations_of([&] {
        for (uint64_t i = 0; i < 20'000; ++i)  // about 750 chunks
            all_ok &= w->append(1000 + i, EventKind::NetFrame, static_cast<uint16_t>(i), payload).ok();
        all_ok &= w->flush().ok();
    });
    EXPECT_TRUE(all_ok);
    EXPECT_EQ(writes, 0u);
    EXPECT_GT(w->chunks(), 700u);
    ASSERT_TRUE(w->finish({30'000, 0, 0}).ok());

    auto r = LogReader::open(dir.path("log"));
    ASSERT_TRUE(r.ok()) << r.error().message;
    uint64_t events = 0;
    const uint64_t reads = allocations_of([&] {
        for (auto e = r->next(); e.ok() && e->has_value(); e = r->next()) ++events;
    });
    EXPECT_EQ(events, 20'001u);
    EXPECT_EQ(reads, 0u);
    EXPECT_TRUE(r->complete());
}

}  // namespace
}  // namespace trapeze::replay::test
