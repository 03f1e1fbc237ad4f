// start_thread: a named host thread that sets itself up (its priority, its CPU, its seccomp
// filter) before it takes any work, and whose starter waits to learn whether that worked.
//
// Every long-lived thread of the VMM confines itself (sandbox/): a filter can only be installed
// by the thread it applies to, and one that could not be must not go on to run guest code or
// take a guest's work. The starter needs the outcome before it goes on (the next hart starts
// only once this one is confined; a Jit without its translator thread translates in line).
#pragma once

#include <functional>
#include <string>
#include <thread>

#include "base/result.hpp"

namespace trapeze {

// Starts a thread named `name` (top -H, perf, gdb and the sandbox's thread kinds go by it; at
// most 15 characters) that runs `setup`, and `body` only if setup succeeded. Returns once setup
// has run: the thread, running body; or setup's error, the thread then joined (body never
// ran); or an error if the host had no thread to give.
Result<std::thread> start_thread(std::string name, std::function<Result<void>()> setup, std::function<void()> body);

}  // namespace trapeze
