#include "runloop/hart_affinity.hpp"

#include <sched.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <string>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace trapeze::runloop {

namespace {

// A CPU number of a list: decimal digits only, below CPU_SETSIZE (what a cpu_set_t holds).
Result<unsigned> parse_cpu(std::string_view s) {
    unsigned cpu = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), cpu);
    if (s.empty() || ec != std::errc{} || end != s.data() + s.size())
        return make_error("'{}' is not a CPU number", s);
    if (cpu >= CPU_SETSIZE) return make_error("CPU {} is past the highest this host can name ({})", cpu, CPU_SETSIZE - 1);
    return cpu;
}

// One hart's list: "N", "A-B" and commas between them.
Result<std::vector<unsigned>> parse_list(std::string_view list) {
    std::vector<unsigned> cpus;
    if (list.empty()) return make_error("an empty list of CPUs");
    while (true) {
        const size_t comma = list.find(',');
        const std::string_view item = list.substr(0, comma);
        const size_t dash = item.find('-');
        auto first = parse_cpu(item.substr(0, dash));
        if (!first) return std::move(first).error();
        unsigned last = *first;
        if (dash != std::string_view::npos) {
            auto end = parse_cpu(item.substr(dash + 1));
            if (!end) return std::move(end).error();
            if (*end < *first) return make_error("the range '{}' runs backwards", item);
            last = *end;
        }
        for (unsigned c = *first; c <= last; ++c) cpus.push_back(c);
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
    }
    std::sort(cpus.begin(), cpus.end());
    cpus.erase(std::unique(cpus.begin(), cpus.end()), cpus.end());
    return cpus;
}

}  // namespace

Result<HartAffinity> parse_hart_affinity(std::string_view spec, unsigned harts) {
    cpu_set_t allowed;
    CPU_ZERO(&allowed);
    if (sched_getaffinity(0, sizeof allowed, &allowed) != 0)
        return make_error("--hart-affinity: sched_getaffinity: {}", std::strerror(errno));
    HartAffinity affinity;
    std::string_view rest = spec;
    while (true) {
        const size_t slash = rest.find('/');
        auto cpus = parse_list(rest.substr(0, slash));
        if (!cpus) return make_error("--hart-affinity '{}', hart {}: {}", spec, affinity.size(), cpus.error().message);
        for (unsigned c : *cpus) {
            if (!CPU_ISSET(c, &allowed))
                return make_error("--hart-affinity '{}', hart {}: CPU {} is not one this process may run on", spec,
                                  affinity.size(), c);
        }
        affinity.push_back(std::move(*cpus));
        if (slash == std::string_view::npos) break;
        rest.remove_prefix(slash + 1);
    }
    if (affinity.size() != harts)
        return make_error("--hart-affinity '{}' gives {} list(s) of CPUs, one per hart, for {} harts", spec,
                          affinity.size(), harts);
    return affinity;
}

Result<void> pin_this_thread(const std::vector<unsigned>& cpus) {
    if (cpus.empty()) return ok();
    cpu_set_t set;
    CPU_ZERO(&set);
    for (unsigned c : cpus) CPU_SET(c, &set);
    // pid 0: the calling thread, the only one the sandbox lets a thread pin (sandbox/allowlist.cpp).
    if (sched_setaffinity(0, sizeof set, &set) != 0)
        return make_error("cannot pin the thread to CPU(s) {}: {}", fmt::join(cpus, ","), std::strerror(errno));
    return ok();
}

}  // namespace trapeze::runloop
