#include "snapshot/snapshot_file.hpp"

#include <cassert>
#include <cstring>

#include "base/file.hpp"
#include "snapshot/crc64.hpp"
#include "snapshot/file_output.hpp"

namespace trapeze::snapshot {

namespace {

constexpr size_t kHeaderBytes = 16;
constexpr size_t kTrailerBytes = 8;

}  // namespace

StateWriter& SnapshotWriter::section(std::string name) {
    assert(name.size() <= kMaxSectionName && !name.empty());
    for ([[maybe_unused]] const auto& [n, w] : m_sections) assert(n != name);
    m_sections.emplace_back(std::move(name), StateWriter{});
    return m_sections.back().second;
}

std::vector<uint8_t> SnapshotWriter::serialize() const {
    StateWriter out;
    out.raw({reinterpret_cast<const uint8_t*>(kMagic), sizeof kMagic});
    out.u16(kMajorVersion);
    out.u16(kMinorVersion);
    out.u32(static_cast<uint32_t>(m_sections.size()));
    for (const auto& [name, w] : m_sections) {
        out.u16(static_cast<uint16_t>(name.size()));
        out.raw({reinterpret_cast<const uint8_t*>(name.data()), name.size()});
        out.u64(w.data().size());
        out.raw(w.data());
    }
    const uint64_t crc = crc64(out.data());
    out.u64(crc);
    return out.take();
}

Result<void> SnapshotWriter::write_file(const std::string& path) const {
    return write_atomically(path, [bytes = serialize()](int fd) -> Result<void> {
        return write_all(fd, 0, bytes);
    });
}

Result<StateReader> SnapshotContents::section(std::string_view name) const {
    auto it = m_sections.find(name);
    if (it == m_sections.end()) return make_error("the snapshot has no '{}' state", name);
    return StateReader(it->second, fmt::format("the snapshot's '{}' state", name));
}

std::vector<std::string> SnapshotContents::names() const {
    std::vector<std::string> out;
    for (const auto& [n, s] : m_sections) out.push_back(n);
    return out;
}

Result<SnapshotContents> parse_snapshot(std::span<const uint8_t> file) {
    if (file.size() < kHeaderBytes + kTrailerBytes || std::memcmp(file.data(), kMagic, sizeof kMagic) != 0)
        return make_error("not a trapeze snapshot (bad magic)");
    StateReader header(file.subspan(sizeof kMagic, kHeaderBytes - sizeof kMagic), "the header");
    SnapshotContents c;
    c.major = header.u16();
    c.minor = header.u16();
    const uint32_t sections = header.u32();
    if (c.major > kMajorVersion)
        return make_error("snapshot format version {}.{} is newer than this trapeze reads ({}.{})", c.major, c.minor,
                          kMajorVersion, kMinorVersion);
    if (c.major != kMajorVersion)
        return make_error("snapshot format version {}.{} is not one this trapeze reads ({}.x)", c.major, c.minor,
                          kMajorVersion);
    const auto body = file.first(file.size() - kTrailerBytes);
    StateReader trailer(file.last(kTrailerBytes), "the checksum");
    const uint64_t stored = trailer.u64();
    const uint64_t computed = crc64(body);
    if (stored != computed)
        return make_error("snapshot checksum mismatch (file says {:#018x}, contents give {:#018x}): the file is "
                          "damaged or was changed",
                          stored, computed);
    if (sections > kMaxSections) return make_error("snapshot has {} sections, more than {}", sections, kMaxSections);
    StateReader r(body.subspan(kHeaderBytes), "the section table");
    for (uint32_t i = 0; i < sections && !r.failed(); ++i) {
        std::string name(r.u16(), '\0');
        if (name.size() == 0 || name.size() > kMaxSectionName) r.fail(fmt::format("section {} has a bad name length", i));
        if (r.failed()) break;
        r.raw({reinterpret_cast<uint8_t*>(name.data()), name.size()});
        const uint64_t len = r.u64();
        if (len > body.size()) r.fail(fmt::format("section '{}' is longer than the file", name));
        if (r.failed()) break;
        std::vector<uint8_t> payload(static_cast<size_t>(len));
        r.raw(payload);
        if (!c.m_sections.emplace(name, std::move(payload)).second) r.fail(fmt::format("section '{}' appears twice", name));
    }
    TRAPEZE_TRY(r.finish());
    return c;
}

void write_machine_header(StateWriter& w, const MachineHeader& h) {
    w.string(h.arch);
    w.u32(h.cpus);
    w.u64(h.ram_size);
}

MachineHeader read_machine_header(StateReader& r) {
    MachineHeader h;
    h.arch = r.string(16);
    h.cpus = r.u32();
    h.ram_size = r.u64();
    if (r.failed()) return h;
    if (h.arch != "riscv64" && h.arch != "x86_64") r.fail(fmt::format("unknown architecture '{}'", h.arch));
    if (h.cpus == 0 || h.cpus > 512) r.fail(fmt::format("{} CPUs", h.cpus));
    if (h.ram_size == 0 || h.ram_size % 4096 != 0 || h.ram_size > (uint64_t{1} << 46))
        r.fail(fmt::format("RAM size {:#x}", h.ram_size));
    return h;
}

Result<MachineHeader> peek_machine_header(const SnapshotContents& snap) {
    TRAPEZE_TRY_ASSIGN(r, snap.section("machine"));
    MachineHeader h = read_machine_header(r);
    if (r.failed()) TRAPEZE_TRY(r.finish());
    return h;
}

Result<SnapshotContents> read_snapshot_file(const std::string& path) {
    auto bytes = read_file(path, kMaxStateFileBytes);
    if (!bytes) return std::move(bytes).context("snapshot").error();
    return std::move(parse_snapshot(*bytes)).context(fmt::format("snapshot '{}'", path));
}

}  // namespace trapeze::snapshot
