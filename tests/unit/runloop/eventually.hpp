// eventually(pred): waits up to `limit` for a condition other threads make true (hart threads
// under test). The limit bounds a hang; it is not a timing the tests assert on.
#pragma once

#include <chrono>
#include <thread>

namespace trapeze::runloop {

template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (!pred()) {
        if (std::chrono::steady_clock::now() > end) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
}

}  // namespace trapeze::runloop
