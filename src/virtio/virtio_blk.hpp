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
// Thread: everything, including the file I/O, runs synchronously on the thread that calls
// process_queue() — the transport's caller, today the hart thread on a QueueNotify write. A
// later I/O thread would take chains here and complete them through VirtioSignals.
#pragma once

#include <array>
#include <memory>
#include <string>

#include "base/result.hpp"
#include "base/unique_fd.hpp"
#include "ratelimit/rate_limiter_config.hpp"
#include "virtio/virtio_device.hpp"

namespace trapeze::virtio {

struct BlkConfig {
    std::string path;
    bool read_only = false;
    std::string id;  // GET_ID serial, at most 20 bytes
    std::optional<ratelimit::RateLimiterConfig> rate_limiter;
};

class VirtioBlk final : public VirtioDevice {
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
    static Result<std::unique_ptr<VirtioBlk>> create(const BlkConfig& config);
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

private:
    struct Completion {
        uint8_t status;
        uint32_t data_len;  // bytes written into the guest's data buffers
    };

    VirtioBlk(UniqueFd fd, uint64_t capacity, bool read_only, const std::string& id);
    bool handle_chain();
    Completion execute(uint32_t type, uint64_t sector, const ByteSpans& out_data, const ByteSpans& in_data);
    uint8_t read_sectors(uint64_t sector, const ByteSpans& data);
    uint8_t write_sectors(uint64_t sector, const ByteSpans& data);
    uint8_t flush();
    uint8_t discard_or_zero(bool write_zeroes, const ByteSpans& segments);
    bool in_range(uint64_t sector, uint64_t sectors) const;
    void log_once(const char* what);

    UniqueFd m_fd;
    uint64_t m_capacity;  // in 512-byte sectors
    bool m_read_only;
    std::array<uint8_t, kIdBytes> m_id{};
    std::array<uint8_t, 60> m_config{};  // struct virtio_blk_config up to write_zeroes_may_unmap
    SplitVirtqueue* m_queue = nullptr;
    VirtioSignals* m_signals = nullptr;
    DescriptorChain m_chain;
    bool m_logged = false;
    bool m_unsynced = false;  // written since the last fdatasync: the destructor syncs
};

}  // namespace trapeze::virtio
