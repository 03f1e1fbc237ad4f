// VirtioBlk: a block device (virtio 1.2 §5.2) over a raw image file or host block device.
//
// Requests (§5.2.6): IN (preadv), OUT (pwritev), FLUSH (fdatasync: the OK status is sent only
// after the data is on the host's disk), GET_ID (20 bytes, zero-padded), DISCARD and
// WRITE_ZEROES (fallocate PUNCH_HOLE|KEEP_SIZE for both: a punched range reads back as zeroes,
// so write-zeroes always unmaps whether or not the guest set VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP,
// which write_zeroes_may_unmap = 1 allows; where the host cannot punch, write-zeroes falls back
// to writing zeroes and discard does nothing). Anything else: VIRTIO_BLK_S_UNSUPP. Sector
// ranges past the capacity, data lengths that are not whole sectors, and writes to a
// read-only disk complete with VIRTIO_BLK_S_IOERR; a read-only image is opened O_RDONLY, so the
// file cannot be modified.
//
// Malformed requests: a header shorter than 16 bytes is answered with IOERR (logged once);
// a request without a writable status byte cannot be answered, so it is returned with length
// 0 and the device asks for DEVICE_NEEDS_RESET. A malformed chain (see SplitVirtqueue) also
// sets NEEDS_RESET.
//
// Memory bound: none allocated per request beyond an iovec per descriptor (at most
// kQueueSize); data moves between the image and guest RAM in place.
//
// Rate limiter (BlkConfig::rate_limiter, Firecracker's accounting): every request is one op,
// and the data of IN and OUT requests are its bytes. A request the limiter refuses stays in the
// driver's ring (SplitVirtqueue::undo_pop) and the queue is not served until the limiter has
// the tokens for it: the device is an EventSource whose timeout is that moment, and its poll()
// serves the queue again. Requests are not reordered and none is failed for lack of tokens.
//
// Snapshots: the device keeps only whether a request waits for the limiter; the limiter
// restarts with full buckets (as after a VMM restart), so that request goes at the next poll()
// or the transport's kick(). Stats restart at 0. The image is the operator's to keep as it was.
//
// Thread: everything, including the file I/O, runs synchronously on the thread that calls
// process_queue() or poll() — the transport's caller (the hart thread on a QueueNotify write,
// or the thread of an ioeventfd) and the machine's loop, serialised by the machine's device
// lock. A later I/O thread would take chains here and complete them through VirtioSignals.
#pragma once

#include <array>
#include <functional>
#include <memory>
#include <string>

#include "base/event_source.hpp"
#include "base/result.hpp"
#include "base/unique_fd.hpp"
#include "ratelimit/rate_limiter.hpp"
#include "ratelimit/rate_limiter_config.hpp"
#include "virtio/virtio_device.hpp"

namespace trapeze::virtio {

struct BlkConfig {
    std::string path;
    bool read_only = false;
    std::string id;  // GET_ID serial, at most 20 bytes
    std::optional<ratelimit::RateLimiterConfig> rate_limiter = {};  // none: not limited
};

class VirtioBlk final : public VirtioDevice, public EventSource {
public:
    static constexpr uint16_t kQueueSize = 256;
    static constexpr uint64_t kSectorSize = 512;
    static constexpr size_t kIdBytes = 20;              // VIRTIO_BLK_ID_BYTES
    static constexpr uint32_t kMaxDiscardSectors = 1u << 22;  // 2 GiB per segment
    static constexpr uint32_t kMaxDiscardSegments = 32;

    // Request types and statuses, §5.2.6.
    static constexpr uint32_t VIRTIO_BLK_T_IN = 0;
    static constexpr uint32_t VIRTIO_BLK_T_OUT = 1;
    static constexpr uint32_t VIRTIO_BLK_T_FLUSH = 4;
    static constexpr uint32_t VIRTIO_BLK_T_GET_ID = 8;
    static constexpr uint32_t VIRTIO_BLK_T_DISCARD = 11;
    static constexpr uint32_t VIRTIO_BLK_T_WRITE_ZEROES = 13;
    static constexpr uint8_t VIRTIO_BLK_S_OK = 0;
    static constexpr uint8_t VIRTIO_BLK_S_IOERR = 1;
    static constexpr uint8_t VIRTIO_BLK_S_UNSUPP = 2;
    static constexpr uint32_t VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP = 1;

    // Feature bits, §5.2.3.
    static constexpr unsigned VIRTIO_BLK_F_SEG_MAX = 2;
    static constexpr unsigned VIRTIO_BLK_F_RO = 5;
    static constexpr unsigned VIRTIO_BLK_F_BLK_SIZE = 6;
    static constexpr unsigned VIRTIO_BLK_F_FLUSH = 9;
    static constexpr unsigned VIRTIO_BLK_F_DISCARD = 13;
    static constexpr unsigned VIRTIO_BLK_F_WRITE_ZEROES = 14;

    // Opens the image ("open disk 'x': ..." on failure). A read-write image is locked
    // exclusively (flock), a read-only one shared, so two VMMs cannot write one image.
    // `clock` is the rate limiter's (tests inject a fake one).
    static Result<std::unique_ptr<VirtioBlk>> create(const BlkConfig& config,
                                                     ratelimit::Clock clock = &GuestClock::host_ns);
    ~VirtioBlk() override;
    VirtioBlk(const VirtioBlk&) = delete;
    VirtioBlk& operator=(const VirtioBlk&) = delete;

    uint64_t capacity_sectors() const { return m_capacity; }
    bool read_only() const { return m_read_only; }

    uint32_t device_id() const override;
    uint64_t device_features() const override;
    uint16_t queue_count() const override { return 1; }
    uint16_t queue_max_size(uint16_t) const override { return kQueueSize; }
    void read_config(uint64_t offset, std::span<uint8_t> out) const override;
    void activate(const ActivateContext& ctx) override;
    void reset() override;
    void process_queue(uint16_t index) override;
    void save_state(snapshot::StateWriter& w) const override;
    Result<void> restore_state(snapshot::StateReader& r) override;

    // EventSource: no fds; a timeout only while a request waits for the rate limiter.
    void fill_pollfds(std::vector<pollfd>&) override {}
    uint64_t next_timeout_ns() override;
    void poll() override;

    // PATCH /drives: new buckets (RateLimiter::update's rules); a waiting queue is served at
    // once if the new limits let it.
    void update_rate_limiter(const ratelimit::RateLimiterConfig& config);
    // Running totals, named as Firecracker's block metrics are.
    struct Stats {
        uint64_t read_count = 0, read_bytes = 0, write_count = 0, write_bytes = 0, flush_count = 0;
        uint64_t io_errors = 0;  // requests answered with VIRTIO_BLK_S_IOERR
    };
    const Stats& stats() const { return m_stats; }
    // Serves the guest from another image from now on (same read-only setting); the driver is
    // told the new capacity. On an error the old image stays.
    Result<void> replace_backing(const std::string& path);
    const ratelimit::RateLimiter& rate_limiter() const { return m_limiter; }
    // A request waits in the ring for the rate limiter's tokens.
    bool throttled() const { return m_throttled; }

    // Record and replay (machine::HostInputs): every read goes through `read`, which may read
    // the image with `host`; without `writes` the guest's writes, flushes, discards and
    // write-zeroes complete as they would (same checks, same status) but leave the image alone.
    using HostRead = std::function<bool(uint64_t offset, const ByteSpans& data)>;
    using ReadHook = std::function<bool(uint64_t offset, const ByteSpans& data, const HostRead& host)>;
    void set_input_hook(ReadHook read, bool writes) {
        m_read_hook = std::move(read);
        m_writes = writes;
    }

private:
    struct Completion {
        uint8_t status;
        uint32_t data_len;  // bytes written into the guest's data buffers
    };

    VirtioBlk(UniqueFd fd, uint64_t capacity, const BlkConfig& config, ratelimit::Clock clock);
    bool handle_chain();
    void count(uint8_t status, uint64_t& requests, uint64_t& bytes, uint64_t n);
    Completion execute(uint32_t type, uint64_t sector, const ByteSpans& out_data, const ByteSpans& in_data);
    uint8_t read_sectors(uint64_t sector, const ByteSpans& data);
    uint8_t write_sectors(uint64_t sector, const ByteSpans& data);
    uint8_t flush();
    uint8_t discard_or_zero(bool write_zeroes, const ByteSpans& segments);
    bool in_range(uint64_t sector, uint64_t sectors) const;
    void log_once(const char* what);

    UniqueFd m_fd;
    Stats m_stats;
    uint64_t m_capacity;  // in 512-byte sectors
    bool m_read_only;
    std::array<uint8_t, kIdBytes> m_id{};
    std::array<uint8_t, 60> m_config{};  // struct virtio_blk_config up to write_zeroes_may_unmap
    SplitVirtqueue* m_queue = nullptr;
    VirtioSignals* m_signals = nullptr;
    DescriptorChain m_chain;
    bool m_logged = false;
    bool m_unsynced = false;  // written since the last fdatasync: the destructor syncs
    ratelimit::RateLimiter m_limiter;
    bool m_throttled = false;  // the limiter refused the request at the head of the ring
    ReadHook m_read_hook;      // unset: reads go to the image
    bool m_writes = true;      // false: writes leave the image alone (replay)
};

}  // namespace trapeze::virtio
