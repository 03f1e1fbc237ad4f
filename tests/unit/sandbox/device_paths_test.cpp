// What a guest makes a hart thread do through its devices stays inside the hart list: a
// virtio-blk and a virtio-rng driven through their MMIO registers, as a hart's stores reach
// them, by a thread confined as a hart. Anything outside the list would stop the child with
// the report line instead of letting it exit 0.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "../virtio/fake_guest.hpp"
#include "child_process.hpp"
#include "sandbox/sandbox.hpp"
#include "virtio/virtio_blk.hpp"
#include "virtio/virtio_rng.hpp"

namespace trapeze::sandbox::test {
namespace {

using virtio::VirtioBlk;
using virtio::test::Buf;
using virtio::test::FakeGuest;

constexpr uint64_t kImageBytes = 64 * 1024;

std::vector<uint8_t> blk_header(uint32_t type, uint64_t sector) {
    std::vector<uint8_t> h(16, 0);
    std::memcpy(h.data(), &type, 4);
    std::memcpy(h.data() + 8, &sector, 8);
    return h;
}

std::vector<uint8_t> blk_segment(uint64_t sector, uint32_t sectors) {
    std::vector<uint8_t> s(16, 0);
    std::memcpy(s.data(), &sector, 8);
    std::memcpy(s.data() + 8, &sectors, 4);
    return s;
}

// One request, `bufs` then a status byte, published and notified: the MMIO store a hart makes.
uint8_t submit(FakeGuest& g, virtio::VirtioMmioTransport& t, std::vector<Buf> bufs) {
    const Buf status = g.writable(1);
    bufs.push_back(status);
    g.publish(g.add_chain(bufs));
    FakeGuest::notify(t);
    return g.read(status.gpa, 1)[0];
}

// What the guest asks of its disk and entropy source, as a hart's MMIO stores deliver it;
// 0 if every request was answered as it should be.
int guest_requests(FakeGuest& blk_guest, virtio::VirtioMmioTransport& blk_t, FakeGuest& rng_guest,
                   virtio::VirtioMmioTransport& rng_t) {
    const std::vector<uint8_t> data(1024, 0x5a);
    if (submit(blk_guest, blk_t,
               {blk_guest.readable(blk_header(VirtioBlk::VIRTIO_BLK_T_OUT, 4)), blk_guest.readable(data)}) !=
        VirtioBlk::VIRTIO_BLK_S_OK)
        return 12;
    const Buf back = blk_guest.writable(1024);
    if (submit(blk_guest, blk_t, {blk_guest.readable(blk_header(VirtioBlk::VIRTIO_BLK_T_IN, 4)), back}) !=
            VirtioBlk::VIRTIO_BLK_S_OK ||
        blk_guest.read(back.gpa, 1024) != data)
        return 13;
    if (submit(blk_guest, blk_t, {blk_guest.readable(blk_header(VirtioBlk::VIRTIO_BLK_T_FLUSH, 0))}) !=
        VirtioBlk::VIRTIO_BLK_S_OK)
        return 14;
    for (uint32_t type : {VirtioBlk::VIRTIO_BLK_T_DISCARD, VirtioBlk::VIRTIO_BLK_T_WRITE_ZEROES}) {
        if (submit(blk_guest, blk_t,
                   {blk_guest.readable(blk_header(type, 0)), blk_guest.readable(blk_segment(4, 2))}) !=
            VirtioBlk::VIRTIO_BLK_S_OK)
            return 15;
    }
    // A malformed request: answered with an error status and a log line, still inside the list.
    (void)submit(blk_guest, blk_t, {blk_guest.readable(blk_header(VirtioBlk::VIRTIO_BLK_T_IN, ~uint64_t{0}))});

    rng_guest.publish(rng_guest.add_chain({rng_guest.writable(256)}));
    FakeGuest::notify(rng_t);
    if (rng_guest.used_idx() != 1 || rng_guest.used(0).len != 256) return 16;
    return 0;
}

class DevicePaths : public ::testing::Test {
protected:
    DevicePaths() {
        const int fd = ::mkstemp(m_path.data());
        if (fd < 0 || ::ftruncate(fd, kImageBytes) != 0) std::abort();
        ::close(fd);
    }
    ~DevicePaths() override { ::unlink(m_path.c_str()); }

    std::string m_path = ::testing::TempDir() + "trapeze-sandbox-blk-XXXXXX";
};

TEST_F(DevicePaths, GuestDiskAndEntropyRequestsRunOnAConfinedHartThread) {
    if (sanitizer_build()) GTEST_SKIP() << "sanitizer runtimes make system calls of their own";
    const ChildEnd end = run_in_child([this] {
        // Built before the filter, as the machine builds its devices before the harts run.
        FakeGuest blk_guest{16};
        FakeGuest rng_guest{16};
        IrqLine blk_irq;
        IrqLine rng_irq;
        virtio::BlkConfig cfg;
        cfg.path = m_path;
        cfg.id = "sandbox";
        auto blk = VirtioBlk::create(cfg);
        if (!blk) return 10;
        virtio::VirtioMmioTransport blk_t(blk_guest.mem, blk_irq, std::move(*blk));
        virtio::VirtioMmioTransport rng_t(rng_guest.mem, rng_irq, std::make_unique<virtio::VirtioRng>());
        blk_guest.init(blk_t, blk_t.device().device_features());
        rng_guest.init(rng_t, virtio::kCommonFeatures);

        prctl(PR_SET_NAME, "trapeze-hart0");
        if (!install_filter(ThreadKind::Hart)) return 11;
        _exit(guest_requests(blk_guest, blk_t, rng_guest, rng_t));  // the devices' teardown is the VMM thread's
    });
    EXPECT_TRUE(end.exited) << "ended by signal " << end.status;
    EXPECT_EQ(end.status, 0) << end.stderr_text;
    EXPECT_EQ(end.stderr_text.find("seccomp"), std::string::npos) << end.stderr_text;
}

}  // namespace
}  // namespace trapeze::sandbox::test
