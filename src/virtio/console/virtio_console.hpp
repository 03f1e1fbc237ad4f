// VirtioConsole: the console device (virtio 1.2 §5.3) with one port and no MULTIPORT: the
// guest's hvc0. Offers EMERG_WRITE (§5.3.3: a byte written to config emerg_wr is output at
// once, usable before the queues are up); no F_SIZE (the guest keeps its default 80x25 idea).
// Queues: receiveq0 = 0, transmitq0 = 1 (§5.3.2).
//
// Output: every byte the guest transmits goes to the sink, in order, straight from guest RAM
// in pieces of at most kTxPiece bytes (the sink sees spans of guest memory, valid only for the
// call). Memory bound: transmit allocates nothing on the host; input waits in a buffer of
// kInputBufferSize bytes; a descriptor chain's bookkeeping is bounded by the queue size.
// Input: like the UART — the machine checks can_accept_input() and push_input()s host bytes;
// they wait in a bounded buffer and are copied into the guest's receive buffers by poll()
// (the device is an EventSource without fds) and whenever the driver adds buffers. Bytes are
// never dropped: can_accept_input() turns false while the buffer is full, so they stay with
// the host side.
//
// Thread: the hart thread only (transport calls, push_input and poll alike). The sink is
// called from process_queue / write_config and must not call back into the device.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <span>
#include <vector>

#include "base/event_source.hpp"
#include "virtio/virtio_device.hpp"

namespace trapeze::virtio {

// Device ID and feature bits, virtio 1.2 §5.3.1, §5.3.3.
inline constexpr uint32_t VIRTIO_ID_CONSOLE = 3;
inline constexpr unsigned VIRTIO_CONSOLE_F_SIZE = 0;
inline constexpr unsigned VIRTIO_CONSOLE_F_MULTIPORT = 1;
inline constexpr unsigned VIRTIO_CONSOLE_F_EMERG_WRITE = 2;

class VirtioConsole final : public VirtioDevice, public EventSource {
public:
    using Sink = std::function<void(std::span<const uint8_t>)>;

    static constexpr uint16_t kRxQueue = 0;
    static constexpr uint16_t kTxQueue = 1;
    static constexpr uint16_t kQueueSize = 64;
    static constexpr size_t kInputBufferSize = 4096;
    static constexpr size_t kTxPiece = 64 * 1024;

    // `sink` receives the guest's output; it may be empty (output is discarded).
    explicit VirtioConsole(Sink sink);

    // VirtioDevice
    uint32_t device_id() const override { return VIRTIO_ID_CONSOLE; }
    uint64_t device_features() const override;
    uint16_t queue_count() const override { return 2; }
    uint16_t queue_max_size(uint16_t) const override { return kQueueSize; }
    void read_config(uint64_t offset, std::span<uint8_t> out) const override;
    void write_config(uint64_t offset, std::span<const uint8_t> in) override;
    void activate(const ActivateContext& ctx) override;
    void reset() override;
    void process_queue(uint16_t index) override;
    // The input not yet delivered, and whether the device reported NEEDS_RESET.
    void save_state(snapshot::StateWriter& w) const override;
    Result<void> restore_state(snapshot::StateReader& r) override;

    // Host input.
    bool can_accept_input() const { return m_input.size() < kInputBufferSize; }
    void push_input(uint8_t byte);
    size_t pending_input() const { return m_input.size(); }

    // EventSource: no fds; poll() delivers buffered input.
    void fill_pollfds(std::vector<pollfd>&) override {}
    void poll() override { flush_input(); }

private:
    void process_tx();
    void emit(std::span<const uint8_t> bytes);
    void flush_input();
    void guest_error(const char* what);

    Sink m_sink;
    std::deque<uint8_t> m_input;
    SplitVirtqueue* m_rxq = nullptr;
    SplitVirtqueue* m_txq = nullptr;
    VirtioSignals* m_signals = nullptr;
    DescriptorChain m_chain;
    bool m_broken = false;  // reported NEEDS_RESET; serve nothing until reset()
};

}  // namespace trapeze::virtio
