// IrqProbe: an IrqLine whose level the test can read back.
#pragma once

#include "bus/irq_line.hpp"

namespace trapeze::devices::test {

struct IrqProbe {
    IrqProbe() {
        line.connect([this](bool l) {
            level = l;
            ++changes;
        });
    }
    IrqProbe(const IrqProbe&) = delete;
    IrqProbe& operator=(const IrqProbe&) = delete;

    IrqLine line;
    bool level = false;
    int changes = 0;
};

}  // namespace trapeze::devices::test
