// Constants from the virtio 1.2 specification, spelled as in the spec so they can be grepped
// against it. Only what trapeze's devices use.
#pragma once

#include <cstdint>

namespace trapeze::virtio {

// Device status field, virtio 1.2 §2.1.
inline constexpr uint32_t VIRTIO_CONFIG_S_ACKNOWLEDGE = 1;
inline constexpr uint32_t VIRTIO_CONFIG_S_DRIVER = 2;
inline constexpr uint32_t VIRTIO_CONFIG_S_DRIVER_OK = 4;
inline constexpr uint32_t VIRTIO_CONFIG_S_FEATURES_OK = 8;
inline constexpr uint32_t VIRTIO_CONFIG_S_NEEDS_RESET = 64;
inline constexpr uint32_t VIRTIO_CONFIG_S_FAILED = 128;

// Reserved (device-independent) feature bits, virtio 1.2 §6.
inline constexpr unsigned VIRTIO_RING_F_INDIRECT_DESC = 28;
inline constexpr unsigned VIRTIO_RING_F_EVENT_IDX = 29;
inline constexpr unsigned VIRTIO_F_VERSION_1 = 32;

constexpr uint64_t feature_bit(unsigned bit) { return uint64_t{1} << bit; }

// Every trapeze device offers these: modern interface, indirect tables, event-idx suppression.
inline constexpr uint64_t kCommonFeatures = feature_bit(VIRTIO_F_VERSION_1) |
                                            feature_bit(VIRTIO_RING_F_INDIRECT_DESC) |
                                            feature_bit(VIRTIO_RING_F_EVENT_IDX);

// Device IDs, virtio 1.2 §5.
inline constexpr uint32_t VIRTIO_ID_BLOCK = 2;
inline constexpr uint32_t VIRTIO_ID_RNG = 4;

// Split virtqueue flags, virtio 1.2 §2.7.5 / §2.7.6 / §2.7.8.
inline constexpr uint16_t VIRTQ_DESC_F_NEXT = 1;      // the chain continues in `next`
inline constexpr uint16_t VIRTQ_DESC_F_WRITE = 2;     // device-writable buffer
inline constexpr uint16_t VIRTQ_DESC_F_INDIRECT = 4;  // buffer is a table of descriptors
inline constexpr uint16_t VIRTQ_AVAIL_F_NO_INTERRUPT = 1;
inline constexpr uint16_t VIRTQ_USED_F_NO_NOTIFY = 1;

// Largest split queue, virtio 1.2 §2.7.
inline constexpr uint16_t kMaxQueueSize = 32768;

}  // namespace trapeze::virtio
