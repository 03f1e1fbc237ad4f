#include "virtio/net/slirp_backend.hpp"

#include <arpa/inet.h>
#include <libslirp.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/log.hpp"

namespace trapeze::virtio {

namespace {

int64_t monotonic_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

in_addr to_in_addr(uint32_t host_order) {
    in_addr a{};
    a.s_addr = htonl(host_order);
    return a;
}

// SLIRP_POLL_* (libslirp.h) <-> poll(2) events.
short to_poll_events(int slirp_events) {
    int e = 0;
    if ((slirp_events & SLIRP_POLL_IN) != 0) e |= POLLIN;
    if ((slirp_events & SLIRP_POLL_OUT) != 0) e |= POLLOUT;
    if ((slirp_events & SLIRP_POLL_PRI) != 0) e |= POLLPRI;
    if ((slirp_events & SLIRP_POLL_ERR) != 0) e |= POLLERR;
    if ((slirp_events & SLIRP_POLL_HUP) != 0) e |= POLLHUP;
    return static_cast<short>(e);
}

int to_slirp_events(short poll_events) {
    int e = 0;
    if ((poll_events & POLLIN) != 0) e |= SLIRP_POLL_IN;
    if ((poll_events & POLLOUT) != 0) e |= SLIRP_POLL_OUT;
    if ((poll_events & POLLPRI) != 0) e |= SLIRP_POLL_PRI;
    if ((poll_events & (POLLERR | POLLNVAL)) != 0) e |= SLIRP_POLL_ERR;
    if ((poll_events & POLLHUP) != 0) e |= SLIRP_POLL_HUP;
    return e;
}

}  // namespace

// A slirp timer (SlirpCb::timer_new): fires once at `expire_ms` (slirp's clock in ms) when armed.
struct SlirpBackend::Timer {
    SlirpTimerCb cb;
    void* cb_opaque;
    int64_t expire_ms = 0;
    bool armed = false;
};

// libslirp's callbacks; `opaque` is the SlirpBackend.
struct SlirpBackend::Callbacks {
    static SlirpBackend& self(void* opaque) { return *static_cast<SlirpBackend*>(opaque); }

    static ssize_t send_packet(const void* buf, size_t len, void* opaque) {
        self(opaque).deliver({static_cast<const uint8_t*>(buf), len});
        return static_cast<ssize_t>(len);
    }
    static void guest_error(const char* msg, void*) { spdlog::warn("slirp: guest error: {}", msg); }
    static int64_t clock_get_ns(void*) { return monotonic_ns(); }
    static void* timer_new(SlirpTimerCb cb, void* cb_opaque, void* opaque) {
        auto& timers = self(opaque).m_timers;
        timers.push_back(std::make_unique<Timer>(Timer{cb, cb_opaque}));
        return timers.back().get();
    }
    static void timer_free(void* timer, void* opaque) {
        auto& timers = self(opaque).m_timers;
        std::erase_if(timers, [timer](const auto& t) { return t.get() == timer; });
    }
    static void timer_mod(void* timer, int64_t expire_ms, void*) {
        auto* t = static_cast<Timer*>(timer);
        t->expire_ms = expire_ms;
        t->armed = true;
    }
    static void register_poll_fd(int, void*) {}    // fds are gathered by slirp_pollfds_fill
    static void unregister_poll_fd(int, void*) {}
    static void notify(void*) {}                   // the machine polls us between slices anyway
    static int add_poll(int fd, int events, void* opaque) { return self(opaque).add_pollfd(fd, events); }
    static int get_revents(int index, void* opaque) { return self(opaque).revents(index); }
};

SlirpBackend::SlirpBackend() = default;

SlirpBackend::~SlirpBackend() {
    // slirp_cleanup frees its timers through timer_free, so m_timers must still exist.
    if (m_slirp != nullptr) slirp_cleanup(m_slirp);
}

Result<std::unique_ptr<SlirpBackend>> SlirpBackend::create(const std::vector<HostForward>& forwards) {
    static const SlirpCb kCallbacks = {
        .send_packet = Callbacks::send_packet,
        .guest_error = Callbacks::guest_error,
        .clock_get_ns = Callbacks::clock_get_ns,
        .timer_new = Callbacks::timer_new,
        .timer_free = Callbacks::timer_free,
        .timer_mod = Callbacks::timer_mod,
        .register_poll_fd = Callbacks::register_poll_fd,
        .unregister_poll_fd = Callbacks::unregister_poll_fd,
        .notify = Callbacks::notify,
        .init_completed = nullptr,
        .timer_new_opaque = nullptr,
    };
    // QEMU's `-netdev user` defaults (IPv4 only). Host loopback stays reachable through
    // 10.0.2.2, which is how a guest reaches services on the host.
    SlirpConfig cfg{};
    cfg.version = 4;
    cfg.restricted = 0;
    cfg.in_enabled = true;
    cfg.vnetwork = to_in_addr(kSlirpNetwork);
    cfg.vnetmask = to_in_addr(kSlirpNetmask);
    cfg.vhost = to_in_addr(kSlirpHost);
    cfg.in6_enabled = false;
    cfg.vdhcp_start = to_in_addr(kSlirpDhcpStart);
    cfg.vnameserver = to_in_addr(kSlirpDns);
    cfg.disable_host_loopback = false;
    cfg.enable_emu = false;

    std::unique_ptr<SlirpBackend> backend(new SlirpBackend());
    backend->m_slirp = slirp_new(&cfg, &kCallbacks, backend.get());
    if (backend->m_slirp == nullptr) return make_error("libslirp: slirp_new failed");
    for (const HostForward& f : forwards) {
        errno = 0;
        if (slirp_add_hostfwd(backend->m_slirp, f.udp ? 1 : 0, to_in_addr(f.host_addr), f.host_port,
                              to_in_addr(f.guest_addr), f.guest_port) < 0) {
            const int e = errno;
            return make_error("hostfwd {}: cannot listen on {}:{}{}{}", format_host_forward(f), format_ipv4(f.host_addr),
                              f.host_port, e != 0 ? ": " : "", e != 0 ? std::strerror(e) : "");
        }
    }
    return backend;
}

void SlirpBackend::send(std::span<const uint8_t> frame) {
    slirp_input(m_slirp, frame.data(), static_cast<int>(frame.size()));
}

int SlirpBackend::add_pollfd(int fd, int events) {
    m_pollfds.push_back({fd, to_poll_events(events), 0});
    return static_cast<int>(m_pollfds.size() - 1);
}

int SlirpBackend::revents(int index) const {
    if (index < 0 || static_cast<size_t>(index) >= m_pollfds.size()) return 0;
    return to_slirp_events(m_pollfds[static_cast<size_t>(index)].revents);
}

void SlirpBackend::fill_pollfds(std::vector<pollfd>& fds) {
    m_pollfds.clear();
    m_slirp_timeout_ms = UINT32_MAX;
    slirp_pollfds_fill(m_slirp, &m_slirp_timeout_ms, Callbacks::add_poll, this);
    fds.insert(fds.end(), m_pollfds.begin(), m_pollfds.end());
}

uint64_t SlirpBackend::next_timeout_ns() {
    uint64_t timeout = m_slirp_timeout_ms == UINT32_MAX ? kNoTimeout : uint64_t{m_slirp_timeout_ms} * 1'000'000;
    const int64_t now = monotonic_ns();
    for (const auto& t : m_timers) {
        if (!t->armed) continue;
        const int64_t due_ns = t->expire_ms * 1'000'000 - now;
        timeout = std::min(timeout, due_ns <= 0 ? 0 : static_cast<uint64_t>(due_ns));
    }
    return timeout;
}

void SlirpBackend::poll() {
    // slirp_pollfds_poll reads the indices handed out by the slirp_pollfds_fill of the same
    // round, so both run here; ::poll with timeout 0 only samples readiness.
    m_pollfds.clear();
    uint32_t timeout_ms = UINT32_MAX;
    slirp_pollfds_fill(m_slirp, &timeout_ms, Callbacks::add_poll, this);
    const int n = m_pollfds.empty() ? 0 : ::poll(m_pollfds.data(), m_pollfds.size(), 0);
    slirp_pollfds_poll(m_slirp, n < 0 ? 1 : 0, Callbacks::get_revents, this);
    run_timers();
}

void SlirpBackend::run_timers() {
    const int64_t now_ms = monotonic_ns() / 1'000'000;
    std::vector<Timer*> due;
    for (const auto& t : m_timers)
        if (t->armed && t->expire_ms <= now_ms) due.push_back(t.get());
    for (Timer* t : due) {
        // An earlier callback may have freed or re-armed this timer.
        const bool alive = std::any_of(m_timers.begin(), m_timers.end(), [t](const auto& p) { return p.get() == t; });
        if (!alive || !t->armed || t->expire_ms > now_ms) continue;
        t->armed = false;
        t->cb(t->cb_opaque);
    }
}

}  // namespace trapeze::virtio
