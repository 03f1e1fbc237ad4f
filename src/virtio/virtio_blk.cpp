#include "virtio/virtio_blk.hpp"

#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <string_view>
#include <vector>

#include "base/log.hpp"
#include "virtio/virtio_spec.hpp"

namespace trapeze::virtio {

namespace {

constexpr size_t kHeaderSize = 16;   // struct virtio_blk_req: le32 type, le32 reserved, le64 sector
constexpr size_t kSegmentSize = 16;  // struct virtio_blk_discard_write_zeroes

template <typename T>
void put(std::span<uint8_t> config, size_t offset, T v) {
    std::memcpy(config.data() + offset, &v, sizeof v);  // little-endian host (see split_virtqueue.cpp)
}

std::vector<iovec> to_iovecs(const ByteSpans& spans) {
    std::vector<iovec> iov;
    iov.reserve(spans.size());
    for (const auto& s : spans)
        if (!s.empty()) iov.push_back(iovec{s.data(), s.size()});
    return iov;
}

// Runs preadv/pwritev until every iovec is done; false on an error or an unexpected end of file.
template <typename Fn>
bool transfer_all(std::vector<iovec> iov, uint64_t offset, Fn&& io) {
    size_t first = 0;
    while (first < iov.size()) {
        const int count = static_cast<int>(std::min<size_t>(iov.size() - first, IOV_MAX));
        const ssize_t n = io(iov.data() + first, count, static_cast<off_t>(offset));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        offset += static_cast<uint64_t>(n);
        auto left = static_cast<size_t>(n);
        while (first < iov.size() && left >= iov[first].iov_len) left -= iov[first++].iov_len;
        if (left > 0) {
            iov[first].iov_base = static_cast<uint8_t*>(iov[first].iov_base) + left;
            iov[first].iov_len -= left;
        }
    }
    return true;
}

bool write_zeroes_by_hand(int fd, uint64_t offset, uint64_t len) {
    static const std::vector<uint8_t> zeroes(64 * 1024);
    while (len > 0) {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(len, zeroes.size()));
        const ssize_t w = ::pwrite(fd, zeroes.data(), n, static_cast<off_t>(offset));
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return false;
        offset += static_cast<uint64_t>(w);
        len -= static_cast<uint64_t>(w);
    }
    return true;
}

}  // namespace

namespace {

struct Backing {
    UniqueFd fd;
    uint64_t sectors = 0;
};

// Image formats by the magic at their start. The device serves raw images only: one of these
// would reach the guest as its container's bytes, and a guest that partitions or formats that
// "disk" destroys the image. QEMU, told no format, opens these as what they are.
struct ImageFormat {
    std::string_view name;
    std::string_view magic;
};
constexpr ImageFormat kImageFormats[] = {
    {"qcow2", std::string_view("QFI\xfb", 4)},
    {"VMDK", "KDMV"},
    {"VHDX", "vhdxfile"},
};

Result<void> refuse_image_formats(int fd, const std::string& path) {
    char head[8] = {};
    const ssize_t n = ::pread(fd, head, sizeof head, 0);
    if (n < 0) return make_error("read disk '{}': {}", path, std::strerror(errno));
    const std::string_view start(head, static_cast<size_t>(n));
    for (const auto& f : kImageFormats)
        if (start.starts_with(f.magic))
            return make_error("disk '{}' is a {} image; trapeze takes raw images (qemu-img convert -O raw)", path,
                              f.name);
    return ok();
}

// Opens and locks a disk image (a regular file or a block device) the way the device uses it.
Result<Backing> open_backing(const std::string& path, bool read_only) {
    const int flags = (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC;
    UniqueFd fd(::open(path.c_str(), flags));
    if (!fd.valid()) return make_error("open disk '{}': {}", path, std::strerror(errno));
    if (::flock(fd.get(), (read_only ? LOCK_SH : LOCK_EX) | LOCK_NB) != 0)
        return make_error("disk '{}' is in use by another process: {}", path, std::strerror(errno));
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return make_error("stat disk '{}': {}", path, std::strerror(errno));
    uint64_t bytes = 0;
    if (S_ISREG(st.st_mode)) {
        bytes = static_cast<uint64_t>(st.st_size);
    } else if (S_ISBLK(st.st_mode)) {
        if (::ioctl(fd.get(), BLKGETSIZE64, &bytes) != 0)
            return make_error("size of disk '{}': {}", path, std::strerror(errno));
    } else {
        return make_error("disk '{}' is neither a regular file nor a block device", path);
    }
    TRAPEZE_TRY(refuse_image_formats(fd.get(), path));
    // A trailing partial sector is not addressable by the guest.
    return Backing{std::move(fd), bytes / VirtioBlk::kSectorSize};
}

}  // namespace

Result<std::unique_ptr<VirtioBlk>> VirtioBlk::create(const BlkConfig& config, ratelimit::Clock clock) {
    if (config.id.size() > kIdBytes)
        return make_error("disk '{}': id '{}' is longer than {} bytes", config.path, config.id, kIdBytes);
    auto b = open_backing(config.path, config.read_only);
    if (!b) return b.error();
    return std::unique_ptr<VirtioBlk>(new VirtioBlk(std::move(b->fd), b->sectors, config, std::move(clock)));
}

// Firecracker's PATCH /drives path_on_host: what was written to the old image is made durable
// first; the guest learns the new capacity through a configuration change (§4.2.2.1).
Result<void> VirtioBlk::replace_backing(const std::string& path) {
    auto b = open_backing(path, m_read_only);
    if (!b) return b.error();
    while (::fdatasync(m_fd.get()) != 0 && errno == EINTR) {
    }
    m_fd = std::move(b->fd);
    m_capacity = b->sectors;
    put<uint64_t>(m_config, 0, m_capacity);  // capacity
    if (m_signals != nullptr) m_signals->config_changed();
    return ok();
}

VirtioBlk::VirtioBlk(UniqueFd fd, uint64_t capacity, const BlkConfig& config, ratelimit::Clock clock)
    : m_fd(std::move(fd)),
      m_capacity(capacity),
      m_read_only(config.read_only),
      m_limiter(config.rate_limiter, std::move(clock)) {
    std::copy(config.id.begin(), config.id.end(), m_id.begin());
    // struct virtio_blk_config, §5.2.4 (offsets in bytes).
    put<uint64_t>(m_config, 0, m_capacity);                    // capacity
    put<uint32_t>(m_config, 12, kQueueSize - 2);               // seg_max: header and status take two
    put<uint32_t>(m_config, 20, uint32_t{kSectorSize});        // blk_size
    put<uint16_t>(m_config, 34, 1);                            // num_queues
    put<uint32_t>(m_config, 36, kMaxDiscardSectors);           // max_discard_sectors
    put<uint32_t>(m_config, 40, kMaxDiscardSegments);          // max_discard_seg
    put<uint32_t>(m_config, 44, 8);                            // discard_sector_alignment: 4 KiB hint
    put<uint32_t>(m_config, 48, kMaxDiscardSectors);           // max_write_zeroes_sectors
    put<uint32_t>(m_config, 52, kMaxDiscardSegments);          // max_write_zeroes_seg
    put<uint8_t>(m_config, 56, 1);                             // write_zeroes_may_unmap
}

uint32_t VirtioBlk::device_id() const { return VIRTIO_ID_BLOCK; }

uint64_t VirtioBlk::device_features() const {
    uint64_t f = kCommonFeatures | feature_bit(VIRTIO_BLK_F_SEG_MAX) | feature_bit(VIRTIO_BLK_F_BLK_SIZE) |
                 feature_bit(VIRTIO_BLK_F_FLUSH);
    if (m_read_only) return f | feature_bit(VIRTIO_BLK_F_RO);
    return f | feature_bit(VIRTIO_BLK_F_DISCARD) | feature_bit(VIRTIO_BLK_F_WRITE_ZEROES);
}

void VirtioBlk::read_config(uint64_t offset, std::span<uint8_t> out) const {
    for (size_t i = 0; i < out.size(); ++i) {
        const uint64_t at = offset + i;
        out[i] = at >= offset && at < m_config.size() ? m_config[static_cast<size_t>(at)] : 0;
    }
}

void VirtioBlk::activate(const ActivateContext& ctx) {
    m_queue = ctx.queues.empty() ? nullptr : ctx.queues[0];
    m_signals = &ctx.signals;
}

void VirtioBlk::reset() {
    // The limiter keeps its budget (a reset is no way to refill it); the waiting request is gone.
    m_queue = nullptr;
    m_signals = nullptr;
    m_throttled = false;
}

void VirtioBlk::process_queue(uint16_t index) {
    if (index != 0 || m_queue == nullptr) return;
    m_throttled = false;
    serve_queue(*m_queue, 0, m_chain, *m_signals, [this] { return handle_chain(); });
}

void VirtioBlk::save_state(snapshot::StateWriter& w) const { w.boolean(m_throttled); }

Result<void> VirtioBlk::restore_state(snapshot::StateReader& r) {
    const bool throttled = r.boolean();
    TRAPEZE_TRY(r.finish());
    m_throttled = throttled && m_queue != nullptr;
    return ok();
}

uint64_t VirtioBlk::next_timeout_ns() { return m_throttled ? m_limiter.ns_until_ready() : kNoTimeout; }

void VirtioBlk::poll() {
    if (m_throttled && m_limiter.ns_until_ready() == 0) process_queue(0);
}

void VirtioBlk::update_rate_limiter(const ratelimit::RateLimiterConfig& config) {
    m_limiter.update(config);
    poll();
}

// Executes one request and returns it to the driver; false if the device needs a reset or the
// rate limiter holds the request back (then it is still in the ring and m_throttled is set).
bool VirtioBlk::handle_chain() {
    const uint64_t writable = total_bytes(m_chain.writable);
    if (writable == 0) {
        // §5.2.6: the last device-writable byte is the status; without it nothing can be answered.
        m_queue->add_used(m_chain, 0);
        m_signals->needs_reset("virtio-blk request without a status byte");
        return false;
    }
    const ByteSpans status = slice(m_chain.writable, writable - 1, 1);
    const ByteSpans in_data = slice(m_chain.writable, 0, writable - 1);
    std::array<uint8_t, kHeaderSize> header{};
    ChainReader reader(m_chain.readable);
    const bool has_header = reader.read(header) == kHeaderSize;
    uint32_t type = 0;
    uint64_t sector = 0;
    std::memcpy(&type, header.data(), 4);
    std::memcpy(&sector, header.data() + 8, 8);
    const ByteSpans out_data =
        has_header ? slice(m_chain.readable, kHeaderSize, total_bytes(m_chain.readable) - kHeaderSize) : ByteSpans{};
    // Firecracker's accounting: one op per request, and the data of reads and writes as bytes.
    const uint64_t bytes = !has_header                ? 0
                           : type == VIRTIO_BLK_T_IN  ? total_bytes(in_data)
                           : type == VIRTIO_BLK_T_OUT ? total_bytes(out_data)
                                                      : 0;
    if (!m_limiter.consume(bytes)) {
        m_queue->undo_pop();
        m_throttled = true;
        return false;
    }
    Completion done{VIRTIO_BLK_S_IOERR, 0};
    if (!has_header)
        log_once("virtio-blk request header shorter than 16 bytes");
    else
        done = execute(type, sector, out_data, in_data);
    status[0][0] = done.status;
    m_queue->add_used(m_chain, done.data_len + 1);
    return true;
}

void VirtioBlk::count(uint8_t status, uint64_t& requests, uint64_t& bytes, uint64_t n) {
    if (status != VIRTIO_BLK_S_OK) {
        ++m_stats.io_errors;
        return;
    }
    ++requests;
    bytes += n;
}

VirtioBlk::Completion VirtioBlk::execute(uint32_t type, uint64_t sector, const ByteSpans& out_data,
                                         const ByteSpans& in_data) {
    switch (type) {
        case VIRTIO_BLK_T_IN: {
            const uint8_t s = read_sectors(sector, in_data);
            count(s, m_stats.read_count, m_stats.read_bytes, total_bytes(in_data));
            return {s, s == VIRTIO_BLK_S_OK ? static_cast<uint32_t>(total_bytes(in_data)) : 0};
        }
        case VIRTIO_BLK_T_OUT: {
            m_unsynced = !m_read_only;
            const uint8_t s = write_sectors(sector, out_data);
            count(s, m_stats.write_count, m_stats.write_bytes, total_bytes(out_data));
            return {s, 0};
        }
        case VIRTIO_BLK_T_FLUSH: {
            const uint8_t s = flush();
            uint64_t no_bytes = 0;
            count(s, m_stats.flush_count, no_bytes, 0);
            return {s, 0};
        }
        case VIRTIO_BLK_T_GET_ID: {
            ChainWriter w(in_data);
            const size_t n = w.write(m_id);
            return {VIRTIO_BLK_S_OK, static_cast<uint32_t>(n)};
        }
        case VIRTIO_BLK_T_DISCARD:
        case VIRTIO_BLK_T_WRITE_ZEROES:
            m_unsynced = !m_read_only;
            return {discard_or_zero(type == VIRTIO_BLK_T_WRITE_ZEROES, out_data), 0};
        default: return {VIRTIO_BLK_S_UNSUPP, 0};
    }
}

bool VirtioBlk::in_range(uint64_t sector, uint64_t sectors) const {
    return sector <= m_capacity && sectors <= m_capacity - sector;
}

uint8_t VirtioBlk::read_sectors(uint64_t sector, const ByteSpans& data) {
    const uint64_t bytes = total_bytes(data);
    if (bytes % kSectorSize != 0 || !in_range(sector, bytes / kSectorSize)) return VIRTIO_BLK_S_IOERR;
    const HostRead host = [fd = m_fd.get()](uint64_t offset, const ByteSpans& spans) {
        return transfer_all(to_iovecs(spans), offset,
                            [fd](const iovec* v, int n, off_t off) { return ::preadv(fd, v, n, off); });
    };
    const uint64_t offset = sector * kSectorSize;
    const bool ok = m_read_hook ? m_read_hook(offset, data, host) : host(offset, data);
    return ok ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR;
}

uint8_t VirtioBlk::write_sectors(uint64_t sector, const ByteSpans& data) {
    const uint64_t bytes = total_bytes(data);
    if (m_read_only || bytes % kSectorSize != 0 || !in_range(sector, bytes / kSectorSize)) return VIRTIO_BLK_S_IOERR;
    if (!m_writes) return VIRTIO_BLK_S_OK;
    const bool ok = transfer_all(to_iovecs(data), sector * kSectorSize,
                                 [fd = m_fd.get()](const iovec* v, int n, off_t off) { return ::pwritev(fd, v, n, off); });
    return ok ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR;
}

uint8_t VirtioBlk::flush() {
    if (m_read_only || !m_writes) return VIRTIO_BLK_S_OK;  // nothing of ours to write back
    // The OK goes to the guest only after the data reached stable storage (issue 4).
    while (::fdatasync(m_fd.get()) != 0) {
        if (errno != EINTR) return VIRTIO_BLK_S_IOERR;
    }
    m_unsynced = false;
    return VIRTIO_BLK_S_OK;
}

VirtioBlk::~VirtioBlk() {
    // However the VMM stops (poweroff, Ctrl-A x, SIGTERM), writes the guest made are on the
    // host's disk when it exits, flushed or not by the guest.
    if (m_unsynced && flush() != VIRTIO_BLK_S_OK)
        spdlog::error("virtio-blk: fdatasync at exit failed: {}", std::strerror(errno));
}

// §5.2.6: the data is an array of {le64 sector, le32 num_sectors, le32 flags} segments.
uint8_t VirtioBlk::discard_or_zero(bool write_zeroes, const ByteSpans& segments) {
    if (m_read_only) return VIRTIO_BLK_S_IOERR;
    const uint64_t bytes = total_bytes(segments);
    if (bytes == 0 || bytes % kSegmentSize != 0 || bytes / kSegmentSize > kMaxDiscardSegments)
        return VIRTIO_BLK_S_UNSUPP;
    ChainReader reader(segments);
    for (uint64_t i = 0; i < bytes / kSegmentSize; ++i) {
        std::array<uint8_t, kSegmentSize> seg{};
        reader.read(seg);
        uint64_t sector = 0;
        uint32_t sectors = 0;
        uint32_t flags = 0;
        std::memcpy(&sector, seg.data(), 8);
        std::memcpy(&sectors, seg.data() + 8, 4);
        std::memcpy(&flags, seg.data() + 12, 4);
        // §5.2.6.2: unknown flag bits, or UNMAP on a discard, are unsupported.
        const uint32_t allowed = write_zeroes ? VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP : 0;
        if ((flags & ~allowed) != 0 || sectors > kMaxDiscardSectors) return VIRTIO_BLK_S_UNSUPP;
        if (!in_range(sector, sectors)) return VIRTIO_BLK_S_IOERR;
        const auto off = static_cast<off_t>(sector * kSectorSize);
        const auto len = static_cast<off_t>(uint64_t{sectors} * kSectorSize);
        if (len == 0 || !m_writes) continue;
        if (::fallocate(m_fd.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len) == 0) continue;
        if (errno != EOPNOTSUPP) return VIRTIO_BLK_S_IOERR;
        // Cannot punch here: discard is only a hint; write-zeroes must still read back as zeroes.
        if (write_zeroes && !write_zeroes_by_hand(m_fd.get(), static_cast<uint64_t>(off), static_cast<uint64_t>(len)))
            return VIRTIO_BLK_S_IOERR;
    }
    return VIRTIO_BLK_S_OK;
}

void VirtioBlk::log_once(const char* what) {
    if (m_logged) return;
    m_logged = true;
    spdlog::warn("virtio-blk: malformed request from the guest (answered with an error): {}", what);
}

}  // namespace trapeze::virtio
