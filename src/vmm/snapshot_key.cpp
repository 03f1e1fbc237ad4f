#include "vmm/snapshot_key.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "sandbox/sandbox.hpp"

namespace trapeze::vmm {

namespace {

void signal(int fd) {
    const uint64_t one = 1;
    [[maybe_unused]] const auto n = ::write(fd, &one, sizeof one);  // full: already signalled
}

}  // namespace

Result<std::unique_ptr<SnapshotKey>> SnapshotKey::start(machine::HostConsole& console) {
    UniqueFd request(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    UniqueFd stop(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!request.valid() || !stop.valid()) return make_error("eventfd: {}", std::strerror(errno));
    const int fd = request.get();
    console.set_snapshot_key([fd] { signal(fd); });
    return std::unique_ptr<SnapshotKey>(new SnapshotKey(std::move(request), std::move(stop)));
}

SnapshotKey::SnapshotKey(UniqueFd request, UniqueFd stop) : m_request(std::move(request)), m_stop(std::move(stop)) {
    m_thread = std::thread([this] { loop(); });
}

void SnapshotKey::set_save(Save save) {
    std::lock_guard lock(m_mutex);
    m_save = std::move(save);
}

SnapshotKey::~SnapshotKey() {
    signal(m_stop.get());
    m_thread.join();
}

void SnapshotKey::loop() {
    if (auto c = sandbox::confine_this_thread(sandbox::ThreadKind::SnapshotKey); !c) {
        fmt::print(stderr, "\r\ntrapeze: Ctrl-A s is off: {}\r\n", c.error().message);
        return;
    }
    for (;;) {
        pollfd fds[2] = {{m_request.get(), POLLIN, 0}, {m_stop.get(), POLLIN, 0}};
        if (::poll(fds, 2, -1) < 0 && errno != EINTR) return;
        if ((fds[1].revents & POLLIN) != 0) return;
        if ((fds[0].revents & POLLIN) == 0) continue;
        uint64_t count = 0;
        [[maybe_unused]] const auto n = ::read(m_request.get(), &count, sizeof count);
        // The terminal is in raw mode: \r\n keeps the guest's screen readable.
        std::lock_guard lock(m_mutex);
        auto line = m_save ? m_save() : Result<std::string>(make_error("no VM is running"));
        if (line) fmt::print(stderr, "\r\ntrapeze: {}\r\n", *line);
        else fmt::print(stderr, "\r\ntrapeze: snapshot failed: {}\r\n", line.error().message);
    }
}

}  // namespace trapeze::vmm
