// A component's State through its byte encoding, as between two processes: the tests of every
// component with a State use these (devices, virtio, the hart).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/result.hpp"
#include "snapshot/state_stream.hpp"

namespace trapeze::snapshot::test {

template <typename State>
std::vector<uint8_t> encode(const State& s) {
    StateWriter w;
    s.write(w);
    return w.take();
}

template <typename State>
Result<State> decode(std::span<const uint8_t> bytes) {
    StateReader r(bytes, "test state");
    State s = State::read(r);
    TRAPEZE_TRY(r.finish());
    return s;
}

}  // namespace trapeze::snapshot::test
