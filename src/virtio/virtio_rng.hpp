// VirtioRng: the entropy device (virtio 1.2 §5.4). One queue; every device-writable buffer
// of a request is filled from the host's getrandom(2), at most kMaxBytesPerRequest per request
// (§5.4.6: the device may write fewer bytes than offered).
//
// Thread: the transport's caller (process_queue runs getrandom synchronously; it does not
// block once the host's pool is initialised).
#pragma once

#include <vector>

#include "virtio/virtio_device.hpp"

namespace trapeze::virtio {

class VirtioRng final : public VirtioDevice {
public:
    static constexpr uint16_t kQueueSize = 64;
    static constexpr uint64_t kMaxBytesPerRequest = 64 * 1024;

    uint32_t device_id() const override;
    uint64_t device_features() const override;
    uint16_t queue_count() const override { return 1; }
    uint16_t queue_max_size(uint16_t) const override { return kQueueSize; }
    void read_config(uint64_t offset, std::span<uint8_t> out) const override;
    void activate(const ActivateContext& ctx) override;
    void reset() override;
    void process_queue(uint16_t index) override;

private:
    SplitVirtqueue* m_queue = nullptr;
    VirtioSignals* m_signals = nullptr;
    DescriptorChain m_chain;
};

}  // namespace trapeze::virtio
