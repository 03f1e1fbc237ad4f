#include "virtio/split_virtqueue.hpp"

#include <atomic>
#include <bit>
#include <cstring>

#include "virtio/virtio_spec.hpp"

namespace trapeze::virtio {

// Ring fields are little-endian (virtio 1.2 §2.4); trapeze hosts are little-endian too, so
// fields are read in place.
static_assert(std::endian::native == std::endian::little, "virtio rings are read in host byte order");

namespace {

constexpr uint64_t kDescSize = 16;       // struct virtq_desc, §2.7.5
constexpr uint64_t kUsedElemSize = 8;    // struct virtq_used_elem, §2.7.8
constexpr uint64_t kRingHeader = 4;      // flags + idx
constexpr uint64_t kIdxOffset = 2;

struct Desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

Desc read_desc(std::span<const uint8_t> table, uint32_t index) {
    Desc d{};
    const uint8_t* p = table.data() + uint64_t{index} * kDescSize;
    std::memcpy(&d.addr, p, 8);
    std::memcpy(&d.len, p + 8, 4);
    std::memcpy(&d.flags, p + 12, 2);
    std::memcpy(&d.next, p + 14, 2);
    return d;
}

// The 16-bit ring fields are naturally aligned (check_layout enforces the area alignments).
std::atomic_ref<uint16_t> u16_at(std::span<uint8_t> area, uint64_t offset) {
    return std::atomic_ref<uint16_t>(*reinterpret_cast<uint16_t*>(area.data() + offset));
}

uint64_t avail_bytes(uint16_t size, bool event_idx) { return kRingHeader + 2ull * size + (event_idx ? 2 : 0); }
uint64_t used_bytes(uint16_t size, bool event_idx) {
    return kRingHeader + kUsedElemSize * size + (event_idx ? 2 : 0);
}

// §2.7.10: true if `event` lies in (old, new] modulo 2^16.
bool vring_need_event(uint16_t event, uint16_t new_idx, uint16_t old_idx) {
    return static_cast<uint16_t>(new_idx - event - 1) < static_cast<uint16_t>(new_idx - old_idx);
}

}  // namespace

const char* to_string(QueueError e) {
    switch (e) {
        case QueueError::None: return "no error";
        case QueueError::BadLayout: return "queue size or ring placement invalid";
        case QueueError::AvailIdxTooFarAhead: return "available index more than a queue size ahead";
        case QueueError::DescIndexOutOfRange: return "descriptor index out of range";
        case QueueError::ChainTooLong: return "descriptor chain longer than the queue (loop?)";
        case QueueError::IndirectNested: return "nested indirect descriptor table";
        case QueueError::IndirectWithNext: return "descriptor has both INDIRECT and NEXT";
        case QueueError::IndirectBadLength: return "indirect table length zero or not a multiple of 16";
        case QueueError::BufferOutsideRam: return "buffer outside guest RAM";
        case QueueError::ReadableAfterWritable: return "device-readable descriptor after a writable one";
    }
    return "unknown queue error";
}

QueueError SplitVirtqueue::check_layout(const GuestMemory& mem, const QueueLayout& l, bool event_idx) {
    // §2.7: split queue sizes are powers of two up to 32768 (free-running 16-bit indices
    // wrap consistently modulo the size only then). Alignments from §2.7 table "Virtqueue
    // Part Alignment": descriptor table 16, available ring 2, used ring 4.
    if (l.size == 0 || l.size > kMaxQueueSize || !std::has_single_bit(l.size)) return QueueError::BadLayout;
    if (l.desc.value % 16 != 0 || l.avail.value % 2 != 0 || l.used.value % 4 != 0) return QueueError::BadLayout;
    if (!mem.contains(l.desc, kDescSize * l.size) || !mem.contains(l.avail, avail_bytes(l.size, event_idx)) ||
        !mem.contains(l.used, used_bytes(l.size, event_idx)))
        return QueueError::BadLayout;
    return QueueError::None;
}

SplitVirtqueue::SplitVirtqueue(const GuestMemory& mem, const QueueLayout& l, bool event_idx)
    : m_mem(mem),
      m_desc(mem.span(l.desc, kDescSize * l.size)),
      m_avail(mem.span(l.avail, avail_bytes(l.size, event_idx))),
      m_used(mem.span(l.used, used_bytes(l.size, event_idx))),
      m_used_gpa(l.used),
      m_size(l.size),
      m_event_idx(event_idx) {
    if (check_layout(mem, l, event_idx) != QueueError::None) m_error = QueueError::BadLayout;
}

uint16_t SplitVirtqueue::load_avail_idx() const {
    // Ordering: acquire, so the ring entries and descriptors the driver wrote before bumping
    // idx (§2.7.13: "write memory barrier" before the idx update) are visible to our reads.
    return u16_at(m_avail, kIdxOffset).load(std::memory_order_acquire);
}

uint16_t SplitVirtqueue::load_used_event() const {
    return u16_at(m_avail, kRingHeader + 2ull * m_size).load(std::memory_order_relaxed);
}

void SplitVirtqueue::store_avail_event(uint16_t v) {
    const uint64_t offset = kRingHeader + kUsedElemSize * m_size;
    u16_at(m_used, offset).store(v, std::memory_order_relaxed);
    m_mem.notify_written(m_used_gpa + offset, 2);
}

PopStatus SplitVirtqueue::pop(DescriptorChain& chain) {
    chain.clear();
    if (m_error != QueueError::None) return PopStatus::Error;
    uint16_t avail_idx = load_avail_idx();
    if (avail_idx == m_next_avail && m_event_idx) {
        // §2.7.10: ask to be notified when the driver adds the next buffer, then look again
        // in case it added one before seeing our avail_event. Ordering: seq_cst fence so our
        // avail_event store is ordered before the re-read (pairs with the driver's full barrier
        // between its idx update and its avail_event read).
        store_avail_event(m_next_avail);
        std::atomic_thread_fence(std::memory_order_seq_cst);
        avail_idx = load_avail_idx();
    }
    const auto pending = static_cast<uint16_t>(avail_idx - m_next_avail);
    if (pending == 0) return PopStatus::Empty;
    if (pending > m_size) {
        m_error = QueueError::AvailIdxTooFarAhead;
        return PopStatus::Error;
    }
    const uint16_t head = u16_at(m_avail, kRingHeader + 2ull * (m_next_avail % m_size)).load(std::memory_order_relaxed);
    ++m_next_avail;
    m_error = walk(head, chain);
    return m_error == QueueError::None ? PopStatus::Chain : PopStatus::Error;
}

QueueError SplitVirtqueue::walk(uint16_t head, DescriptorChain& chain) const {
    chain.head = head;
    if (head >= m_size) return QueueError::DescIndexOutOfRange;
    std::span<const uint8_t> table = m_desc;
    uint32_t table_size = m_size;
    uint32_t index = head;
    uint32_t budget = m_size;  // descriptors left before the chain is too long (§2.7.5.2)
    bool indirect = false;
    bool seen_writable = false;
    for (;;) {
        if (budget == 0) return QueueError::ChainTooLong;
        --budget;
        const Desc d = read_desc(table, index);
        if ((d.flags & VIRTQ_DESC_F_INDIRECT) != 0) {
            // §2.7.5.3.1: one table per descriptor, never nested, never with NEXT; the WRITE
            // flag of the descriptor that points to a table is ignored.
            if (indirect) return QueueError::IndirectNested;
            if ((d.flags & VIRTQ_DESC_F_NEXT) != 0) return QueueError::IndirectWithNext;
            if (d.len == 0 || d.len % kDescSize != 0) return QueueError::IndirectBadLength;
            if (!m_mem.contains(Gpa(d.addr), d.len)) return QueueError::BufferOutsideRam;
            table_size = d.len / kDescSize;
            if (table_size > m_size) return QueueError::ChainTooLong;
            table = m_mem.span(Gpa(d.addr), d.len);
            index = 0;
            budget = table_size;
            indirect = true;
            continue;
        }
        if (!m_mem.contains(Gpa(d.addr), d.len)) return QueueError::BufferOutsideRam;
        const auto buf = m_mem.span(Gpa(d.addr), d.len);
        if ((d.flags & VIRTQ_DESC_F_WRITE) != 0) {
            seen_writable = true;
            chain.writable.push_back(buf);
            chain.writable_gpa.push_back(Gpa(d.addr));
        } else {
            // §2.7.4.2: device-readable descriptors come before device-writable ones.
            if (seen_writable) return QueueError::ReadableAfterWritable;
            chain.readable.push_back(buf);
        }
        if ((d.flags & VIRTQ_DESC_F_NEXT) == 0) return QueueError::None;
        index = d.next;
        if (index >= table_size) return QueueError::DescIndexOutOfRange;
    }
}

void SplitVirtqueue::add_used(const DescriptorChain& chain, uint32_t len) {
    if (m_desc.empty()) return;
    // Device writes bypass the harts: report them so engines drop code derived from those
    // bytes (GuestMemory::notify_written). Every writable buffer is reported, not just `len`
    // bytes: a failed request may have written part of its data, and blk's status byte is last.
    for (size_t i = 0; i < chain.writable.size(); ++i) m_mem.notify_written(chain.writable_gpa[i], chain.writable[i].size());
    const uint64_t elem_offset = kRingHeader + kUsedElemSize * (m_next_used % m_size);
    uint8_t* elem = m_used.data() + elem_offset;
    const uint32_t id = chain.head;
    std::memcpy(elem, &id, 4);
    std::memcpy(elem + 4, &len, 4);
    ++m_next_used;
    // Ordering: release, so the element (and the data written into the buffers) is visible
    // before the driver sees the new used->idx (§2.7.8).
    u16_at(m_used, kIdxOffset).store(m_next_used, std::memory_order_release);
    m_mem.notify_written(m_used_gpa + elem_offset, kUsedElemSize);
    m_mem.notify_written(m_used_gpa + kIdxOffset, 2);
}

bool SplitVirtqueue::needs_notification() {
    if (m_desc.empty()) return false;
    // Ordering: seq_cst fence between our used->idx store and reading the driver's
    // suppression field, pairing with the driver's barrier between updating used_event /
    // flags and re-reading used->idx; otherwise both sides could miss each other.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    const uint16_t old_idx = m_signalled_used;
    const uint16_t new_idx = m_next_used;
    const bool valid = m_signalled_valid;
    m_signalled_used = new_idx;
    m_signalled_valid = true;
    if (old_idx == new_idx) return false;  // nothing published since the last check
    if (m_event_idx) return !valid || vring_need_event(load_used_event(), new_idx, old_idx);
    const uint16_t flags = u16_at(m_avail, 0).load(std::memory_order_relaxed);
    return (flags & VIRTQ_AVAIL_F_NO_INTERRUPT) == 0;
}

void QueuePositions::write(snapshot::StateWriter& w) const {
    w.u16(next_avail);
    w.u16(next_used);
    w.u16(signalled_used);
    w.boolean(signalled_valid);
    w.u8(static_cast<uint8_t>(error));
}

QueuePositions QueuePositions::read(snapshot::StateReader& r) {
    QueuePositions p;
    p.next_avail = r.u16();
    p.next_used = r.u16();
    p.signalled_used = r.u16();
    p.signalled_valid = r.boolean();
    const uint8_t error = r.u8();
    if (error > static_cast<uint8_t>(QueueError::ReadableAfterWritable))
        r.fail(fmt::format("queue error {} unknown", error));
    else
        p.error = static_cast<QueueError>(error);
    return p;
}

QueuePositions SplitVirtqueue::positions() const {
    return {m_next_avail, m_next_used, m_signalled_used, m_signalled_valid, m_error};
}

Result<void> SplitVirtqueue::set_positions(const QueuePositions& p) {
    // A queue built on a bad layout has no rings to read: it must stay broken.
    if (m_error == QueueError::BadLayout) return make_error("queue layout invalid");
    const auto in_flight = static_cast<uint16_t>(p.next_avail - p.next_used);
    if (in_flight > m_size)
        return make_error("queue positions avail {} used {}: more chains in flight than the {} entries", p.next_avail,
                          p.next_used, m_size);
    if (p.error > QueueError::ReadableAfterWritable)
        return make_error("queue error {} unknown", static_cast<int>(p.error));
    m_next_avail = p.next_avail;
    m_next_used = p.next_used;
    m_signalled_used = p.signalled_used;
    m_signalled_valid = p.signalled_valid;
    m_error = p.error;
    return ok();
}

}  // namespace trapeze::virtio
