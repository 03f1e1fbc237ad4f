#include "arch/riscv64/fdt_builder.hpp"

#include <fmt/format.h>
#include <libfdt.h>

#include <algorithm>
#include <initializer_list>
#include <string>
#include <string_view>

#include "devices/plic.hpp"
#include "devices/sifive_test.hpp"

namespace trapeze::arch::riscv64 {

namespace {

// cpu-intc local interrupt numbers = mip bit positions (priv spec §3.1.9).
constexpr uint32_t kIrqMSoft = 3;
constexpr uint32_t kIrqMTimer = 7;
constexpr uint32_t kIrqSExt = 9;
constexpr uint32_t kIrqMExt = 11;

constexpr unsigned kMaxHarts = 512;  // what kPlicSize leaves room for (2 contexts per hart)
static_assert(kPlicNdev == devices::Plic::kNumSources - 1);

// Fixed phandles, so the same configuration always gives the same blob.
constexpr uint32_t kPlicPhandle = 1;
constexpr uint32_t kTestPhandle = 2;
constexpr uint32_t cpu_phandle(unsigned hart) {
    return 3 + 2 * hart;
}
constexpr uint32_t intc_phandle(unsigned hart) {
    return 4 + 2 * hart;
}

// A thin layer over libfdt's sequential-write API that remembers the first error, so the
// tree-building code reads as a list of nodes and properties.
class FdtWriter {
public:
    explicit FdtWriter(size_t size) : m_buf(size) {
        check(fdt_create(m_buf.data(), static_cast<int>(size)));
        check(fdt_finish_reservemap(m_buf.data()));
    }

    void begin_node(const std::string& name) {
        if (m_err == 0) check(fdt_begin_node(m_buf.data(), name.c_str()));
    }
    void end_node() {
        if (m_err == 0) check(fdt_end_node(m_buf.data()));
    }
    void prop(const char* name, const void* data, size_t len) {
        if (m_err == 0) check(fdt_property(m_buf.data(), name, data, static_cast<int>(len)));
    }
    void prop_empty(const char* name) { prop(name, nullptr, 0); }
    void prop_u32(const char* name, uint32_t v) {
        if (m_err == 0) check(fdt_property_u32(m_buf.data(), name, v));
    }
    void prop_u64(const char* name, uint64_t v) {
        if (m_err == 0) check(fdt_property_u64(m_buf.data(), name, v));
    }
    void prop_string(const char* name, std::string_view s) { prop_strings(name, {s}); }
    // A stringlist: each string NUL-terminated, back to back (DT spec v0.4 §2.2.4).
    void prop_strings(const char* name, std::initializer_list<std::string_view> list) {
        prop_strings(name, std::vector<std::string_view>(list));
    }
    template <typename Strings>
    void prop_strings(const char* name, const Strings& list) {
        std::string bytes;
        for (std::string_view s : list) {
            bytes.append(s);
            bytes.push_back('\0');
        }
        prop(name, bytes.data(), bytes.size());
    }
    void prop_cells(const char* name, const std::vector<uint32_t>& cells) {
        std::vector<fdt32_t> be;
        be.reserve(cells.size());
        for (uint32_t c : cells) be.push_back(cpu_to_fdt32(c));
        prop(name, be.data(), be.size() * sizeof(fdt32_t));
    }
    // reg with #address-cells = #size-cells = 2.
    void prop_reg(uint64_t base, uint64_t size) { prop_cells("reg", {hi(base), lo(base), hi(size), lo(size)}); }

    // fdt_finish moves the strings block after the structure block, so the blob is packed.
    void finish() {
        if (m_err == 0) check(fdt_finish(m_buf.data()));
        if (m_err == 0) check(fdt_check_header(m_buf.data()));
    }
    Result<std::vector<uint8_t>> take() && {
        if (m_err != 0) return make_error("build device tree: {}", fdt_strerror(m_err));
        m_buf.resize(fdt_totalsize(m_buf.data()));
        return std::move(m_buf);
    }
    int error() const { return m_err; }

    static uint32_t hi(uint64_t v) { return static_cast<uint32_t>(v >> 32); }
    static uint32_t lo(uint64_t v) { return static_cast<uint32_t>(v); }

private:
    void check(int rc) {
        if (rc < 0 && m_err == 0) m_err = rc;
    }

    std::vector<uint8_t> m_buf;
    int m_err = 0;
};

// True if the extension is named in riscv,isa-extensions or as a `_`-separated token of riscv,isa.
bool has_extension(const BoardConfig& cfg, std::string_view ext) {
    if (std::find(cfg.isa_extensions.begin(), cfg.isa_extensions.end(), ext) != cfg.isa_extensions.end()) return true;
    size_t pos = 0;
    while ((pos = cfg.isa.find('_', pos)) != std::string::npos) {
        ++pos;
        const size_t end = cfg.isa.find('_', pos);
        if (std::string_view(cfg.isa).substr(pos, end - pos) == ext) return true;
    }
    return false;
}

Result<void> validate(const BoardConfig& cfg) {
    if (cfg.num_harts == 0 || cfg.num_harts > kMaxHarts)
        return make_error("{} harts: the board supports 1 to {}", cfg.num_harts, kMaxHarts);
    if (cfg.ram_size == 0) return make_error("no RAM");
    if (cfg.virtio_slots > kVirtioCount)
        return make_error("{} virtio slots: the board has {}", cfg.virtio_slots, kVirtioCount);
    if (!cfg.isa.starts_with("rv64")) return make_error("ISA string '{}' does not start with rv64", cfg.isa);
    if (cfg.timebase_hz == 0 || cfg.timebase_hz > UINT32_MAX)
        return make_error("timebase {} Hz does not fit timebase-frequency (32 bits)", cfg.timebase_hz);
    if (cfg.initrd && cfg.initrd->second < cfg.initrd->first)
        return make_error("initrd end {:#x} before start {:#x}", cfg.initrd->second, cfg.initrd->first);
    return ok();
}

// riscv,cpu-intc: the hart's local interrupt controller (bindings/interrupt-controller/
// riscv,cpu-intc.yaml). #address-cells = 0 keeps dtc's interrupt_provider check quiet.
void add_cpu_intc(FdtWriter& w, unsigned hart) {
    w.begin_node("interrupt-controller");
    w.prop_u32("#address-cells", 0);
    w.prop_u32("#interrupt-cells", 1);
    w.prop_empty("interrupt-controller");
    w.prop_string("compatible", "riscv,cpu-intc");
    w.prop_u32("phandle", intc_phandle(hart));
    w.end_node();
}

// One hart (bindings/riscv/cpus.yaml, extensions.yaml). riscv,isa-base/-extensions are what
// Linux >= 6.7 reads; older kernels and OpenSBI read riscv,isa.
void add_cpu(FdtWriter& w, const BoardConfig& cfg, unsigned hart) {
    w.begin_node(fmt::format("cpu@{:x}", hart));
    w.prop_u32("phandle", cpu_phandle(hart));
    w.prop_string("device_type", "cpu");
    w.prop_u32("reg", hart);
    w.prop_string("status", "okay");
    w.prop_string("compatible", "riscv");
    w.prop_string("riscv,isa", cfg.isa);
    if (!cfg.isa_extensions.empty()) {
        w.prop_string("riscv,isa-base", "rv64i");
        w.prop_strings("riscv,isa-extensions", cfg.isa_extensions);
    }
    w.prop_string("mmu-type", cfg.mmu_type);
    if (has_extension(cfg, "zicbom")) w.prop_u32("riscv,cbom-block-size", cfg.cache_block_size);
    if (has_extension(cfg, "zicboz")) w.prop_u32("riscv,cboz-block-size", cfg.cache_block_size);
    add_cpu_intc(w, hart);
    w.end_node();
}

// Topology (bindings/cpu/cpu-topology.txt): one cluster holding every hart.
void add_cpu_map(FdtWriter& w, const BoardConfig& cfg) {
    w.begin_node("cpu-map");
    w.begin_node("cluster0");
    for (unsigned h = 0; h < cfg.num_harts; ++h) {
        w.begin_node(fmt::format("core{}", h));
        w.prop_u32("cpu", cpu_phandle(h));
        w.end_node();
    }
    w.end_node();
    w.end_node();
}

void add_cpus(FdtWriter& w, const BoardConfig& cfg) {
    w.begin_node("cpus");
    w.prop_u32("#address-cells", 1);
    w.prop_u32("#size-cells", 0);
    w.prop_u32("timebase-frequency", static_cast<uint32_t>(cfg.timebase_hz));
    for (unsigned h = 0; h < cfg.num_harts; ++h) add_cpu(w, cfg, h);
    add_cpu_map(w, cfg);
    w.end_node();
}

void add_memory(FdtWriter& w, const BoardConfig& cfg) {
    w.begin_node(fmt::format("memory@{:x}", kRamBase));
    w.prop_string("device_type", "memory");
    w.prop_reg(kRamBase, cfg.ram_size);
    w.end_node();
}

// interrupts-extended: one <phandle irq> pair per entry, per hart, in context order.
std::vector<uint32_t> per_hart_irqs(const BoardConfig& cfg, std::initializer_list<uint32_t> irqs) {
    std::vector<uint32_t> cells;
    for (unsigned h = 0; h < cfg.num_harts; ++h) {
        for (uint32_t irq : irqs) {
            cells.push_back(intc_phandle(h));
            cells.push_back(irq);
        }
    }
    return cells;
}

// bindings/timer/sifive,clint.yaml: per hart, machine software then machine timer.
void add_clint(FdtWriter& w, const BoardConfig& cfg) {
    w.begin_node(fmt::format("clint@{:x}", kClintBase));
    w.prop_strings("compatible", {"sifive,clint0", "riscv,clint0"});
    w.prop_reg(kClintBase, kClintSize);
    w.prop_cells("interrupts-extended", per_hart_irqs(cfg, {kIrqMSoft, kIrqMTimer}));
    w.end_node();
}

// bindings/interrupt-controller/sifive,plic-1.0.0.yaml: contexts 2h (M external) and
// 2h+1 (S external), matching devices::Plic's numbering.
void add_plic(FdtWriter& w, const BoardConfig& cfg) {
    w.begin_node(fmt::format("plic@{:x}", kPlicBase));
    w.prop_u32("phandle", kPlicPhandle);
    w.prop_u32("#address-cells", 0);
    w.prop_u32("#interrupt-cells", 1);
    w.prop_empty("interrupt-controller");
    w.prop_strings("compatible", {"sifive,plic-1.0.0", "riscv,plic0"});
    w.prop_reg(kPlicBase, kPlicSize);
    w.prop_u32("riscv,ndev", kPlicNdev);
    w.prop_cells("interrupts-extended", per_hart_irqs(cfg, {kIrqMExt, kIrqSExt}));
    w.end_node();
}

// A device whose interrupt goes to the PLIC.
void add_plic_device(FdtWriter& w, std::string_view name, std::string_view compatible, uint64_t base, uint64_t size,
                     unsigned irq) {
    w.begin_node(fmt::format("{}@{:x}", name, base));
    w.prop_string("compatible", compatible);
    w.prop_reg(base, size);
    w.prop_u32("interrupt-parent", kPlicPhandle);
    w.prop_u32("interrupts", irq);
}

void add_uart(FdtWriter& w) {
    add_plic_device(w, "serial", "ns16550a", kUartBase, kUartSize, kUartIrq);
    w.prop_u32("clock-frequency", kUartClockHz);
    w.end_node();
}

void add_rtc(FdtWriter& w) {
    add_plic_device(w, "rtc", "google,goldfish-rtc", kRtcBase, kRtcSize, kRtcIrq);
    w.end_node();
}

void add_virtio(FdtWriter& w, const BoardConfig& cfg) {
    for (unsigned slot = 0; slot < cfg.virtio_slots; ++slot) {
        add_plic_device(w, "virtio_mmio", "virtio,mmio", virtio_base(slot), kVirtioStride, virtio_irq(slot));
        w.end_node();
    }
}

// The finisher is a syscon so that syscon-poweroff/-reboot can name it as their regmap.
void add_test(FdtWriter& w) {
    w.begin_node(fmt::format("test@{:x}", kTestBase));
    w.prop_u32("phandle", kTestPhandle);
    w.prop_strings("compatible", {"sifive,test1", "sifive,test0", "syscon"});
    w.prop_reg(kTestBase, kTestSize);
    w.end_node();
}

// bindings/power/reset/syscon-{poweroff,reboot}.yaml. They sit at the root, as on QEMU:
// Linux only creates platform devices for children of the root or of simple buses.
void add_syscon_action(FdtWriter& w, const char* name, const char* compatible, uint32_t value) {
    w.begin_node(name);
    w.prop_string("compatible", compatible);
    w.prop_u32("regmap", kTestPhandle);
    w.prop_u32("offset", 0);
    w.prop_u32("value", value);
    w.end_node();
}

void add_soc(FdtWriter& w, const BoardConfig& cfg) {
    w.begin_node("soc");
    w.prop_u32("#address-cells", 2);
    w.prop_u32("#size-cells", 2);
    w.prop_string("compatible", "simple-bus");
    w.prop_empty("ranges");
    add_test(w);
    add_rtc(w);
    add_clint(w, cfg);
    add_plic(w, cfg);
    add_uart(w);
    add_virtio(w, cfg);
    w.end_node();
}

void add_chosen(FdtWriter& w, const BoardConfig& cfg) {
    w.begin_node("chosen");
    if (!cfg.bootargs.empty()) w.prop_string("bootargs", cfg.bootargs);
    w.prop_string("stdout-path", kStdoutPath);
    if (cfg.initrd) {
        w.prop_u64("linux,initrd-start", cfg.initrd->first);
        w.prop_u64("linux,initrd-end", cfg.initrd->second);
    }
    if (!cfg.rng_seed.empty()) w.prop("rng-seed", cfg.rng_seed.data(), cfg.rng_seed.size());
    w.end_node();
}

void add_aliases(FdtWriter& w) {
    w.begin_node("aliases");
    w.prop_string("serial0", kStdoutPath);
    w.end_node();
}

void write_tree(FdtWriter& w, const BoardConfig& cfg) {
    w.begin_node("");
    w.prop_u32("#address-cells", 2);
    w.prop_u32("#size-cells", 2);
    w.prop_string("compatible", "riscv-virtio");
    w.prop_string("model", "riscv-virtio,qemu");
    add_chosen(w, cfg);
    add_aliases(w);
    add_memory(w, cfg);
    add_cpus(w, cfg);
    add_soc(w, cfg);
    add_syscon_action(w, "poweroff", "syscon-poweroff", devices::SifiveTest::FINISHER_PASS);
    add_syscon_action(w, "reboot", "syscon-reboot", devices::SifiveTest::FINISHER_RESET);
    w.end_node();
}

}  // namespace

Result<std::vector<uint8_t>> build_fdt(const BoardConfig& cfg) {
    TRAPEZE_TRY(validate(cfg));
    // The tree is a few KiB per hart; grow the buffer only if it does not fit.
    for (size_t size = size_t{64} << 10; size <= size_t{16} << 20; size *= 4) {
        FdtWriter w(size);
        write_tree(w, cfg);
        w.finish();
        if (w.error() == -FDT_ERR_NOSPACE) continue;
        return std::move(w).take();
    }
    return make_error("build device tree: more than 16 MiB");
}

}  // namespace trapeze::arch::riscv64
