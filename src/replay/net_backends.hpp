// The network backends of record and replay (machine::HostInputs::net_backend).
//
// RecordingNetBackend wraps the host's (slirp, TAP): what the guest sends goes to it; what it
// hands back — from inside send() (slirp answers ARP and DHCP at once) or from poll() — waits
// here until the machine's next round end, where it enters the guest and the log together, so
// every frame enters at a position the replay can reach (a real NIC also takes its time).
//
// ReplayNetBackend has no host side: what the guest sends goes nowhere, and the recorded frames
// enter at the round ends they entered at (Replayer::net_frame).
//
// Thread: the machine's run loop (see NetBackend).
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "virtio/net/net_backend.hpp"

namespace trapeze::replay {

class Recorder;
class Replayer;

class RecordingNetBackend final : public virtio::NetBackend {
public:
    // Frames held back at most; more are dropped, as a full NIC queue drops them.
    static constexpr size_t kMaxHeldFrames = 256;

    RecordingNetBackend(Recorder& recorder, uint16_t source, std::unique_ptr<virtio::NetBackend> host);
    ~RecordingNetBackend() override;

    void send(std::span<const uint8_t> frame) override { m_host->send(frame); }
    void fill_pollfds(std::vector<pollfd>& fds) override { m_host->fill_pollfds(fds); }
    uint64_t next_timeout_ns() override { return m_held.empty() ? m_host->next_timeout_ns() : 0; }
    void poll() override;
    uint64_t dropped() const { return m_dropped; }

private:
    Recorder& m_recorder;
    uint16_t m_source;
    std::unique_ptr<virtio::NetBackend> m_host;
    std::deque<std::vector<uint8_t>> m_held;
    uint64_t m_dropped = 0;
};

class ReplayNetBackend final : public virtio::NetBackend {
public:
    ReplayNetBackend(Replayer& replayer, uint16_t source) : m_replayer(replayer), m_source(source) {}

    void send(std::span<const uint8_t>) override {}
    void fill_pollfds(std::vector<pollfd>&) override {}
    void poll() override;

private:
    Replayer& m_replayer;
    uint16_t m_source;
};

}  // namespace trapeze::replay
