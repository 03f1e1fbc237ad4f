// A DebugTarget of its own for the gdb session's tests and fuzzer: threads with a few
// registers, one small memory array seen at a virtual and a physical address, points of three
// of the five types, and every call recorded so a test can see what the session asked for.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "gdb/target.hpp"

namespace trapeze::gdb::fake {

// Registers 0..3 are 8 bytes and in `g` (3 is the pc, which a step advances by 4); register 4
// is 4 bytes and outside `g`, as a CSR is; there are no others.
constexpr unsigned kGRegisters = 4;
constexpr unsigned kPcRegister = 3;
constexpr unsigned kCsrRegister = 4;
constexpr uint64_t kVirtBase = 0x1000;
constexpr uint64_t kPhysBase = 0x80000000;
constexpr size_t kMemSize = 256;
constexpr int kSigInt = 2;

// Holds every byte the qXfer reply has to escape, and is longer than one small chunk.
inline std::string target_xml() {
    std::string doc =
        "<?xml version=\"1.0\"?><target><architecture>fake</architecture>"
        "<!-- $ # } * need escaping --><xi:include href=\"extra.xml\"/></target>";
    doc += std::string(200, 'x');
    return doc;
}

class FakeTarget final : public DebugTarget {
public:
    explicit FakeTarget(unsigned threads = 2) : m_threads(threads) {
        regs.resize(threads);
        for (unsigned t = 0; t < threads; ++t)
            for (unsigned r = 0; r < kGRegisters; ++r) regs[t].wide[r] = 0x1111111111111111ull * (r + 1) + t;
        for (size_t i = 0; i < kMemSize; ++i) memory[i] = static_cast<uint8_t>(i);
    }

    unsigned threads() const override { return m_threads; }
    std::optional<std::string> feature_document(std::string_view annex) const override {
        if (annex == "target.xml") return target_xml();
        if (annex == "extra.xml") return std::string("<feature name=\"extra\"/>");
        return std::nullopt;
    }
    unsigned g_register_count() const override { return kGRegisters; }
    std::string thread_info(unsigned thread) const override { return "hart " + std::to_string(thread) + ", S-mode"; }

    StopReason attach() override {
        ++attaches;
        return StopReason{};
    }
    void detach() override { ++detaches; }
    void kill() override { ++kills; }

    std::optional<std::vector<uint8_t>> read_register(unsigned thread, unsigned regnum) override {
        check_thread(thread);
        if (regnum < kGRegisters) return bytes_of(regs[thread].wide[regnum], 8);
        if (regnum == kCsrRegister) return bytes_of(regs[thread].csr, 4);
        return std::nullopt;
    }
    bool write_register(unsigned thread, unsigned regnum, std::span<const uint8_t> bytes) override {
        check_thread(thread);
        if (regnum < kGRegisters && bytes.size() == 8) {
            std::memcpy(&regs[thread].wide[regnum], bytes.data(), 8);
            return true;
        }
        if (regnum == kCsrRegister && bytes.size() == 4) {
            std::memcpy(&regs[thread].csr, bytes.data(), 4);
            return true;
        }
        return false;
    }
    size_t read_memory(unsigned thread, uint64_t addr, std::span<uint8_t> out, bool physical) override {
        check_thread(thread);
        const size_t n = accessible(addr, out.size(), physical);
        if (n > 0) std::memcpy(out.data(), &memory[addr - base(physical)], n);
        return n;
    }
    size_t write_memory(unsigned thread, uint64_t addr, std::span<const uint8_t> in, bool physical) override {
        check_thread(thread);
        const size_t n = accessible(addr, in.size(), physical);
        if (n > 0) std::memcpy(&memory[addr - base(physical)], in.data(), n);
        return n;
    }

    bool supports(PointType type) const override {
        return type == PointType::Software || type == PointType::Hardware || type == PointType::Write;
    }
    bool insert_point(PointType type, uint64_t addr, uint64_t kind) override {
        if (!supports(type)) bad_call = true;  // the session must not ask
        if (kind == 0) return false;           // as a real target refuses a length it cannot watch
        points.emplace_back(type, addr, kind);
        return true;
    }
    bool remove_point(PointType type, uint64_t addr, uint64_t kind) override {
        if (!supports(type)) bad_call = true;
        const auto it = std::find(points.begin(), points.end(), std::tuple{type, addr, kind});
        if (it == points.end()) return false;
        points.erase(it);
        return true;
    }

    StopReason step(unsigned thread, StepFlags flags) override {
        check_thread(thread);
        steps.emplace_back(thread, flags.take_interrupts);
        regs[thread].wide[kPcRegister] += 4;
        StopReason r = next_step.value_or(StopReason{});
        r.thread = thread;
        return r;
    }
    std::optional<std::string> monitor(std::string_view command) override {
        monitor_commands.emplace_back(command);
        if (command == "help") return std::string("info            the fake board\n");
        if (command == "info") return std::string("fake board, ") + std::to_string(m_threads) + " harts\n";
        if (command == "big") return std::string(9000, 'b');  // more than one O packet
        return std::nullopt;
    }

    void resume(const ThreadSet& run) override {
        if (running || run.size() != m_threads || std::find(run.begin(), run.end(), true) == run.end()) bad_call = true;
        running = true;
        resumed = run;
        ++resumes;
    }
    int stop_fd() const override { return -1; }
    std::optional<StopReason> take_stop() override {
        if (!running) bad_call = true;
        running = false;
        return next_stop;
    }
    StopReason interrupt() override {
        if (!running) bad_call = true;
        running = false;
        ++interrupts;
        return StopReason{StopReason::Kind::Signal, interrupt_thread, kSigInt};
    }

    bool can_reverse() const override { return reversible; }
    StopReason reverse_step(unsigned thread) override {
        if (!reversible || running) bad_call = true;
        reverse_calls.push_back("step " + std::to_string(thread));
        StopReason r = next_reverse;
        r.thread = thread;
        return r;
    }
    StopReason reverse_continue() override {
        if (!reversible || running) bad_call = true;
        reverse_calls.emplace_back("continue");
        return next_reverse;
    }

    struct Registers {
        std::array<uint64_t, kGRegisters> wide{};
        uint32_t csr = 0xc0ffee;
    };
    std::vector<Registers> regs;
    std::array<uint8_t, kMemSize> memory{};
    std::vector<std::tuple<PointType, uint64_t, uint64_t>> points;
    std::vector<std::pair<unsigned, bool>> steps;  // thread, take_interrupts
    std::vector<std::string> monitor_commands;
    std::optional<StopReason> next_step;  // what step() reports (its thread is the stepped one)
    StopReason next_stop;                 // what take_stop() reports
    unsigned interrupt_thread = 0;
    bool reversible = false;               // a replay: answers bs and bc
    std::vector<std::string> reverse_calls;
    StopReason next_reverse;               // what reverse_step() and reverse_continue() report
    int attaches = 0, detaches = 0, kills = 0, resumes = 0, interrupts = 0;
    ThreadSet resumed;  // the threads the last resume() ran
    bool running = false;
    bool bad_call = false;  // a call the session should not have made in the state it was in

private:
    static std::vector<uint8_t> bytes_of(uint64_t v, size_t n) {
        std::vector<uint8_t> out(n);
        for (size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(v >> (8 * i));
        return out;
    }
    static uint64_t base(bool physical) { return physical ? kPhysBase : kVirtBase; }
    static size_t accessible(uint64_t addr, size_t len, bool physical) {
        const uint64_t b = base(physical);
        if (addr < b || addr - b >= kMemSize) return 0;
        return static_cast<size_t>(std::min<uint64_t>(len, kMemSize - (addr - b)));
    }
    void check_thread(unsigned thread) {
        if (thread >= m_threads || running) bad_call = true;
    }

    unsigned m_threads;
};

}  // namespace trapeze::gdb::fake
