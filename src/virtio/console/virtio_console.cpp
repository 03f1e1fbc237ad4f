#include "virtio/console/virtio_console.hpp"

#include <algorithm>
#include <array>
#include <cstring>

#include "virtio/virtio_spec.hpp"

namespace trapeze::virtio {

namespace {

// struct virtio_console_config, §5.3.4: le16 cols; le16 rows; le32 max_nr_ports; le32 emerg_wr.
constexpr uint64_t kConfigEmergWr = 8;
constexpr uint64_t kConfigSize = 12;


}  // namespace

VirtioConsole::VirtioConsole(Sink sink) : m_sink(std::move(sink)) {}

uint64_t VirtioConsole::device_features() const {
    return kCommonFeatures | feature_bit(VIRTIO_CONSOLE_F_EMERG_WRITE);
}

void VirtioConsole::read_config(uint64_t, std::span<uint8_t> out) const {
    // cols/rows need F_SIZE, max_nr_ports needs MULTIPORT, emerg_wr is write-only: all 0.
    std::fill(out.begin(), out.end(), uint8_t{0});
}

void VirtioConsole::write_config(uint64_t offset, std::span<const uint8_t> in) {
    // §5.3.6.1: a write to emerg_wr outputs its low byte (the driver writes 32 bits).
    if (offset != kConfigEmergWr || in.empty() || offset + in.size() > kConfigSize) return;
    if (m_sink) m_sink(in.first(1));
}

void VirtioConsole::activate(const ActivateContext& ctx) {
    m_rxq = ctx.queues.size() > kRxQueue ? ctx.queues[kRxQueue] : nullptr;
    m_txq = ctx.queues.size() > kTxQueue ? ctx.queues[kTxQueue] : nullptr;
    m_signals = &ctx.signals;
    m_broken = false;
    flush_input();
}

void VirtioConsole::reset() {
    // Typed-ahead input stays for the next driver.
    m_rxq = nullptr;
    m_txq = nullptr;
    m_signals = nullptr;
    m_broken = false;
}

void VirtioConsole::process_queue(uint16_t index) {
    if (index == kTxQueue) process_tx();
    if (index == kRxQueue) flush_input();
}

void VirtioConsole::push_input(uint8_t byte) {
    if (can_accept_input()) m_input.push_back(byte);
}

void VirtioConsole::guest_error(const char* what) {
    m_broken = true;
    m_signals->needs_reset(what);
}

void VirtioConsole::process_tx() {
    if (m_txq == nullptr || m_broken) return;
    bool used = false;
    for (;;) {
        const PopStatus st = m_txq->pop(m_chain);
        if (st == PopStatus::Empty) break;
        if (st == PopStatus::Error) {
            guest_error(to_string(m_txq->error()));
            return;
        }
        // §5.3.6.2: output is the device-readable bytes of the chain; the device writes none.
        // Each buffer goes to the sink in place, in pieces of at most kTxPiece bytes: the
        // host allocates nothing per request, however long the chain (a chain of 64
        // descriptors each covering all of RAM used to become one host buffer of 64 × RAM).
        for (const auto& buf : m_chain.readable) emit(buf);
        m_txq->add_used(m_chain, 0);
        used = true;
    }
    if (used) m_signals->notify_used(kTxQueue);  // the transport applies event-idx suppression
}

void VirtioConsole::emit(std::span<const uint8_t> bytes) {
    if (!m_sink) return;
    for (size_t done = 0; done < bytes.size(); done += kTxPiece)
        m_sink(bytes.subspan(done, std::min(kTxPiece, bytes.size() - done)));
}

void VirtioConsole::flush_input() {
    if (m_rxq == nullptr || m_broken) return;
    bool used = false;
    while (!m_input.empty()) {
        const PopStatus st = m_rxq->pop(m_chain);
        if (st == PopStatus::Empty) break;  // the bytes wait for the driver's next buffer
        if (st == PopStatus::Error) {
            guest_error(to_string(m_rxq->error()));
            return;
        }
        uint64_t written = 0;
        for (auto& buf : m_chain.writable) {
            const size_t n = std::min(buf.size(), m_input.size());
            std::copy_n(m_input.begin(), n, buf.begin());
            m_input.erase(m_input.begin(), m_input.begin() + static_cast<std::ptrdiff_t>(n));
            written += n;
            if (m_input.empty()) break;
        }
        m_rxq->add_used(m_chain, static_cast<uint32_t>(written));
        used = true;
    }
    if (used) m_signals->notify_used(kRxQueue);  // the transport applies event-idx suppression
}

void VirtioConsole::save_state(snapshot::StateWriter& w) const {
    const std::vector<uint8_t> input(m_input.begin(), m_input.end());
    w.bytes(input);
    w.boolean(m_broken);
}

// Delivery waits for the transport's kick() or the next poll(): restoring writes no guest RAM.
Result<void> VirtioConsole::restore_state(snapshot::StateReader& r) {
    const std::vector<uint8_t> input = r.bytes(kInputBufferSize);
    const bool broken = r.boolean();
    TRAPEZE_TRY(r.finish());
    m_input.assign(input.begin(), input.end());
    m_broken = broken;
    return ok();
}

}  // namespace trapeze::virtio
