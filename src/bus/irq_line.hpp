// IrqLine: a level-triggered interrupt wire from a device to an interrupt controller
// (or from a controller to a CPU input). The device only sets the level; who listens
// is decided by whoever wires the machine.
#pragma once

#include <functional>
#include <utility>

namespace trapeze {

class IrqLine {
public:
    IrqLine() = default;
    explicit IrqLine(std::function<void(bool)> sink) : m_sink(std::move(sink)) {}

    void set_level(bool level) {
        if (m_sink) m_sink(level);
    }
    void raise() { set_level(true); }
    void lower() { set_level(false); }
    void connect(std::function<void(bool)> sink) { m_sink = std::move(sink); }

private:
    std::function<void(bool)> m_sink;
};

}  // namespace trapeze
