// EventSource: how a device backend with host-side input (a network backend, a console) plugs
// into the machine's loop without a thread of its own.
//
// The machine's loop uses it in two ways:
//  * busy (a hart ran a slice): call poll() on every source between slices (about every
//    100 µs); poll() never blocks.
//  * idle (every hart in WFI): collect fill_pollfds() from every source, then
//    next_timeout_ns() from every source (in that order: a source may compute its timeout
//    while filling), sleep in poll(2) until one of those fds is ready, the earliest timeout
//    or the machine's own deadline, then call poll() on every source. Which fds woke the
//    loop is not passed back: poll() checks its own fds again without waiting.
//
// Thread: the hart thread only (the thread that runs the devices); a source is not
// re-entrant and its callbacks into devices happen inside poll() on that thread.
#pragma once

#include <poll.h>

#include <cstdint>
#include <vector>

namespace trapeze {

class EventSource {
public:
    static constexpr uint64_t kNoTimeout = UINT64_MAX;

    virtual ~EventSource() = default;

    // Appends the fds (with their events) whose readiness should wake an idle machine.
    // A source that cannot take input right now (its guest queue is full) appends nothing.
    virtual void fill_pollfds(std::vector<pollfd>& fds) = 0;

    // Nanoseconds from now until the source wants poll() called even if none of its fds is
    // ready (a protocol timer), or kNoTimeout.
    virtual uint64_t next_timeout_ns() { return kNoTimeout; }

    // Non-blocking: moves whatever host input is ready into the guest, runs expired timers.
    virtual void poll() = 0;
};

}  // namespace trapeze
