#include "replay/net_backends.hpp"

#include "replay/recorder.hpp"
#include "replay/replayer.hpp"

namespace trapeze::replay {

RecordingNetBackend::RecordingNetBackend(Recorder& recorder, uint16_t source, std::unique_ptr<virtio::NetBackend> host)
    : m_recorder(recorder), m_source(source), m_host(std::move(host)) {
    m_host->set_receiver([this](std::span<const uint8_t> frame) {
        if (m_held.size() == kMaxHeldFrames) {
            ++m_dropped;
            return;
        }
        m_held.emplace_back(frame.begin(), frame.end());
    });
}

RecordingNetBackend::~RecordingNetBackend() { m_host->set_receiver({}); }

// At a round's end (the machine polls its devices only there): what the host handed over,
// into the log and the guest together.
void RecordingNetBackend::poll() {
    m_host->poll();
    while (!m_held.empty()) {
        const std::vector<uint8_t> frame = std::move(m_held.front());
        m_held.pop_front();
        m_recorder.net_frame(m_source, frame);
        deliver(frame);
    }
}

void ReplayNetBackend::poll() {
    while (m_replayer.take_net_frame(m_source, [this](std::span<const uint8_t> frame) { deliver(frame); })) {
    }
}

}  // namespace trapeze::replay
