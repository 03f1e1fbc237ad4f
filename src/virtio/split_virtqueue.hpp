// SplitVirtqueue: the device side of a virtio 1.2 split virtqueue (§2.7) in guest RAM, with
// VIRTIO_RING_F_INDIRECT_DESC (§2.7.5.3) and VIRTIO_RING_F_EVENT_IDX (§2.7.7, §2.7.10).
//
// Everything in the rings is written by the guest and untrusted. pop() validates a whole
// descriptor chain before handing it to a device: indices below the queue size, at most
// queue-size descriptors (so a loop ends as an error, not a hang), indirect tables nonzero,
// a multiple of 16 bytes, not nested and not combined with NEXT, every buffer inside RAM
// (overflow-checked by GuestMemory::contains), no readable buffer after a writable one, and
// an avail index never more than a queue size ahead. A violation is a QueueError value; the
// queue then stays broken (every later pop() returns the same error) until the driver resets
// the device, and the caller reports DEVICE_NEEDS_RESET.
//
// Thread: one thread at a time (the caller serialises; today the hart thread). The guest's
// CPUs may write the rings concurrently: indices are read and written with acquire/release
// atomics on the guest's memory (see the Ordering: notes in the .cpp).
#pragma once

#include <cstdint>
#include <span>

#include "memory/guest_memory.hpp"
#include "snapshot/state_stream.hpp"
#include "virtio/descriptor_chain.hpp"

namespace trapeze::virtio {

enum class QueueError : uint8_t {
    None,
    BadLayout,              // size not a power of two / too big, ring misaligned or outside RAM
    AvailIdxTooFarAhead,    // avail->idx moved more than queue size past what we consumed
    DescIndexOutOfRange,    // a head or `next` index >= the table's size
    ChainTooLong,           // more than queue-size descriptors: a loop or an oversized chain
    IndirectNested,         // VIRTQ_DESC_F_INDIRECT inside an indirect table
    IndirectWithNext,       // INDIRECT and NEXT on the same descriptor
    IndirectBadLength,      // indirect table empty or not a multiple of 16 bytes
    BufferOutsideRam,       // a buffer or indirect table not entirely inside guest RAM
    ReadableAfterWritable,  // device-readable descriptor after a device-writable one
};

const char* to_string(QueueError e);

// Where the driver placed the three areas (virtio 1.2 §2.7: descriptor table, driver area =
// available ring, device area = used ring) and how many entries they have.
struct QueueLayout {
    uint16_t size = 0;
    Gpa desc;
    Gpa avail;
    Gpa used;
};

enum class PopStatus : uint8_t { Empty, Chain, Error };

// What a SplitVirtqueue keeps outside guest RAM (the rings themselves are in RAM): a snapshot
// saves this and rebuilds the queue from its layout.
struct QueuePositions {
    uint16_t next_avail = 0;
    uint16_t next_used = 0;
    uint16_t signalled_used = 0;
    bool signalled_valid = false;
    QueueError error = QueueError::None;

    void write(snapshot::StateWriter& w) const;
    static QueuePositions read(snapshot::StateReader& r);  // refuses an unknown QueueError
};

class SplitVirtqueue {
public:
    // Checks the layout (§2.7: size a power of two <= 32768; alignments 16/2/4; every area in RAM).
    static QueueError check_layout(const GuestMemory& mem, const QueueLayout& layout, bool event_idx);

    // `layout` must have passed check_layout(). `next_avail`/`next_used` start at 0 after a reset.
    SplitVirtqueue(const GuestMemory& mem, const QueueLayout& layout, bool event_idx);

    uint16_t size() const { return m_size; }
    bool event_idx() const { return m_event_idx; }

    // Takes the next available chain into `chain`. On Error, error() tells why; the head (if it
    // was read) is in chain.head, so a device may still complete it.
    PopStatus pop(DescriptorChain& chain);
    QueueError error() const { return m_error; }

    // Gives back the chain the last pop() returned (PopStatus::Chain, not yet add_used): the
    // next pop() returns it again. A device that may not serve it yet (a rate limiter said no)
    // leaves it in the driver's ring this way.
    void undo_pop() { --m_next_avail; }

    // Returns a chain to the driver with `len` bytes written into its writable buffers
    // (§2.7.8), and reports the chain's writable buffers and the ring update as written
    // (GuestMemory::notify_written). Ordering: the element is written before the
    // release-store of used->idx.
    void add_used(const DescriptorChain& chain, uint32_t len);

    // Whether the driver wants an interrupt for what add_used() published since the last call
    // that returned true (§2.7.10: used_event with EVENT_IDX, else VIRTQ_AVAIL_F_NO_INTERRUPT).
    bool needs_notification();

    uint16_t next_avail() const { return m_next_avail; }
    uint16_t next_used() const { return m_next_used; }

    QueuePositions positions() const;
    // On a queue just built from the saved layout. Refuses more chains in flight (popped, not
    // yet used) than the queue holds.
    Result<void> set_positions(const QueuePositions& p);

private:
    uint16_t load_avail_idx() const;
    uint16_t load_used_event() const;
    void store_avail_event(uint16_t v);
    QueueError walk(uint16_t head, DescriptorChain& chain) const;

    const GuestMemory& m_mem;
    std::span<uint8_t> m_desc;   // size * 16 bytes
    std::span<uint8_t> m_avail;  // 4 + 2 * size (+ 2 for used_event)
    std::span<uint8_t> m_used;   // 4 + 8 * size (+ 2 for avail_event)
    Gpa m_used_gpa;
    uint16_t m_size;
    bool m_event_idx;
    uint16_t m_next_avail = 0;
    uint16_t m_next_used = 0;
    uint16_t m_signalled_used = 0;  // used idx at the last notification (§2.7.10)
    bool m_signalled_valid = false;
    QueueError m_error = QueueError::None;
};

}  // namespace trapeze::virtio
