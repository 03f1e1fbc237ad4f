#include "base/started_thread.hpp"

#include <pthread.h>

#include <cassert>
#include <future>
#include <memory>
#include <system_error>
#include <utility>

namespace trapeze {

Result<std::thread> start_thread(std::string name, std::function<Result<void>()> setup, std::function<void()> body) {
    assert(name.size() <= 15);  // pthread_setname_np's limit (16 bytes with the NUL)
    // The promise is the thread's own too: it may still be in set_value when this returns.
    auto set_up = std::make_shared<std::promise<Result<void>>>();
    std::future<Result<void>> outcome = set_up->get_future();
    std::thread thread;
    try {
        thread = std::thread([name, set_up, setup = std::move(setup), body = std::move(body)] {
            pthread_setname_np(pthread_self(), name.c_str());
            Result<void> r = setup ? setup() : ok();
            const bool good = r.ok();
            set_up->set_value(std::move(r));
            if (good) body();
        });
    } catch (const std::system_error& e) {
        return make_error("cannot start thread {}: {}", name, e.what());
    }
    if (Result<void> r = outcome.get(); !r) {
        thread.join();
        return r.error();
    }
    return thread;
}

}  // namespace trapeze
