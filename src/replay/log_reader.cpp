#include "replay/log_reader.hpp"

#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/bits.hpp"
#include "base/file.hpp"
#include "snapshot/crc64.hpp"

namespace trapeze::replay {

void LogReader::ZstdFree::operator()(ZSTD_DCtx_s* d) const {
    ZSTD_freeDCtx(d);
}

Result<LogReader> LogReader::open(const std::string& path) {
    uint64_t size = 0;
    auto fd = open_regular(path, &size);
    if (!fd) return std::move(fd).context("replay log").error();
    return open(std::move(*fd), path);
}

Result<LogReader> LogReader::open(UniqueFd fd, std::string name) {
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return make_error("replay log '{}': stat: {}", name, std::strerror(errno));
    if (!S_ISREG(st.st_mode)) return make_error("replay log '{}' is not a regular file", name);
    if (::lseek(fd.get(), 0, SEEK_SET) != 0) return make_error("replay log '{}': seek: {}", name, std::strerror(errno));
    LogReader r(std::move(fd), std::move(name), static_cast<uint64_t>(st.st_size));
    if (!r.m_zstd) return make_error("replay log '{}': zstd could not make a decompression context", r.m_name);
    if (auto header = r.read_header(); !header)
        return std::move(header).context(fmt::format("replay log '{}'", r.m_name)).error();
    return r;
}

LogReader::LogReader(UniqueFd fd, std::string name, uint64_t size)
    : m_fd(std::move(fd)),
      m_name(std::move(name)),
      m_size(size),
      m_zstd(ZSTD_createDCtx()),
      m_compressed(std::make_unique_for_overwrite<uint8_t[]>(kMaxCompressedBytes)),
      m_events(std::make_unique_for_overwrite<uint8_t[]>(kMaxChunkBytes)) {}

LogReader::LogReader(LogReader&&) noexcept = default;
LogReader& LogReader::operator=(LogReader&&) noexcept = default;
LogReader::~LogReader() = default;

Result<void> LogReader::read_exact(std::span<uint8_t> out) {
    TRAPEZE_TRY_ASSIGN(n, read_up_to(m_fd, m_name, out));
    if (n != out.size()) return make_error("the file ended early at offset {} (did it shrink?)", m_offset + n);
    m_offset += n;
    return ok();
}

Result<void> LogReader::read_header() {
    constexpr size_t kSmallest = kHeaderPrefixBytes + kHeaderFixedBody + kChecksumBytes;
    if (m_size < kSmallest) return make_error("the file is {} bytes, shorter than any header ({})", m_size, kSmallest);
    std::array<uint8_t, kHeaderPrefixBytes> prefix{};
    TRAPEZE_TRY(read_exact(prefix));
    TRAPEZE_TRY_ASSIGN(body, check_header_prefix(prefix, &m_version));
    const uint64_t whole = kHeaderPrefixBytes + uint64_t{body} + kChecksumBytes;
    if (m_size < whole) return make_error("the file is {} bytes; its header alone is {}", m_size, whole);
    std::vector<uint8_t> rest(body + kChecksumBytes);  // at most kMaxHeaderBody + 8
    TRAPEZE_TRY(read_exact(rest));
    TRAPEZE_TRY_ASSIGN(header, decode_header(prefix, rest, m_version));
    m_header = std::move(header);
    m_last_icount = m_header.start_icount;
    return ok();
}

Result<std::optional<Event>> LogReader::next() {
    if (m_failed) return *m_failed;
    for (;;) {
        if (m_pos < m_used) {
            const auto e = decode_event_header(
                std::span<const uint8_t, kEventHeaderBytes>(m_events.get() + m_pos, kEventHeaderBytes));
            const uint8_t* payload = m_events.get() + m_pos + kEventHeaderBytes;
            m_pos += kEventHeaderBytes + e.payload_bytes;
            if (e.kind == static_cast<uint16_t>(EventKind::End)) m_end = m_chunk_end;
            if (!is_known_kind(e.kind) || e.kind == static_cast<uint16_t>(EventKind::End)) continue;
            ++m_returned;
            return std::optional<Event>(
                Event{e.icount, static_cast<EventKind>(e.kind), e.source, {payload, e.payload_bytes}});
        }
        if (m_done || m_end) {
            m_done = true;
            return std::optional<Event>();
        }
        auto loaded = load_chunk();
        if (!loaded) {
            m_failed = loaded.error();
            return *m_failed;
        }
        if (!*loaded) m_done = true;
    }
}

Result<EndRecord> LogReader::end_record() const {
    if (m_end) return *m_end;
    if (m_failed) return *m_failed;
    if (!m_done) return make_error("replay log '{}' has not been read to its end", m_name);
    return make_error("replay log '{}' has no end record (its recording was cut short): {}", m_name, m_unfinished);
}

Error LogReader::chunk_error(const std::string& why) const {
    return make_error("replay log '{}': chunk {} at offset {}: {}", m_name, m_chunks, m_offset, why);
}

// Where a log without end record stops: the file ends here, `have` bytes into a chunk of
// `need` (0 and 0: at a chunk boundary). Always false: no chunk was loaded.
bool LogReader::note_unfinished(uint64_t have, uint64_t need) {
    const std::string last =
        m_chunks == 0 ? "its header" : fmt::format("chunk {} (instruction count {})", m_chunks - 1, m_last_icount);
    if (have == 0)
        m_unfinished = fmt::format("the file ends after {}", last);
    else
        m_unfinished =
            fmt::format("the file ends {} bytes into chunk {} at offset {}{}; the events up to {} are whole", have,
                        m_chunks, m_offset, need != 0 ? fmt::format(" ({} bytes long)", need) : "", last);
    return false;
}

// Loads and checks the next chunk; false where the file ends without one (the log is then
// unfinished, not damaged: a torn chunk is how a killed writer leaves its last one).
Result<bool> LogReader::load_chunk() {
    const uint64_t left = m_size - m_offset;
    if (left == 0) return note_unfinished(0, 0);
    std::array<uint8_t, kChunkHeaderBytes> raw{};
    const size_t header_bytes = static_cast<size_t>(std::min<uint64_t>(left, kChunkHeaderBytes));
    if (auto read = read_up_to(m_fd, m_name, std::span(raw).first(header_bytes)); !read || *read != header_bytes)
        return chunk_error(read ? "the file ended early (did it shrink?)" : read.error().message);
    if (std::memcmp(raw.data(), kChunkMagic, std::min(header_bytes, sizeof kChunkMagic)) != 0)
        return chunk_error("no chunk starts here (bad magic)");
    if (header_bytes < kChunkHeaderBytes) return note_unfinished(left, 0);
    auto header = decode_chunk_header(raw);
    if (!header) return chunk_error(header.error().message);
    const ChunkHeader& c = *header;
    if (c.index != m_chunks)
        return chunk_error(fmt::format("it is numbered {} (a chunk lost, repeated or moved?)", c.index));
    const uint64_t whole = kChunkHeaderBytes + uint64_t{c.compressed_bytes};
    if (whole > left) return note_unfinished(left, whole);
    if (auto read = read_up_to(m_fd, m_name, {m_compressed.get(), c.compressed_bytes});
        !read || *read != c.compressed_bytes)
        return chunk_error(read ? "the file ended early (did it shrink?)" : read.error().message);
    const uint64_t crc = snapshot::crc64({m_compressed.get(), c.compressed_bytes});
    if (crc != c.data_crc)
        return chunk_error(fmt::format("its data's checksum is {:#018x}; the header says {:#018x} (damaged or edited)",
                                       crc, c.data_crc));
    TRAPEZE_TRY(decompress(c));
    TRAPEZE_TRY(check_events(c));
    if (m_chunk_end && m_offset + whole != m_size)
        return chunk_error(
            fmt::format("{} bytes follow the end record, from offset {}", m_size - m_offset - whole, m_offset + whole));
    m_offset += whole;
    ++m_chunks;
    m_counted += c.events - (m_chunk_end ? 1 : 0);
    m_last_icount = c.last_icount;
    return true;
}

// The frame must declare exactly the size the chunk header does: a decompression bomb (or any
// frame that disagrees) is refused before it is decompressed, into a buffer of that size.
Result<void> LogReader::decompress(const ChunkHeader& c) {
    const uint8_t* src = m_compressed.get();
    // Only the current frame format: no legacy or skippable frames.
    if (c.compressed_bytes < 4 || load_le<uint32_t>(src) != ZSTD_MAGICNUMBER)
        return chunk_error("its data is not a zstd frame");
    const unsigned long long declared = ZSTD_getFrameContentSize(src, c.compressed_bytes);
    if (declared == ZSTD_CONTENTSIZE_ERROR) return chunk_error("its data is not a zstd frame");
    if (declared == ZSTD_CONTENTSIZE_UNKNOWN) return chunk_error("its zstd frame does not say how large it is");
    if (declared != c.event_bytes)
        return chunk_error(fmt::format("its zstd frame holds {} bytes; the header says {}", declared, c.event_bytes));
    const size_t frame = ZSTD_findFrameCompressedSize(src, c.compressed_bytes);
    if (ZSTD_isError(frame) || frame != c.compressed_bytes)
        return chunk_error(ZSTD_isError(frame)
                               ? fmt::format("its zstd frame is damaged: {}", ZSTD_getErrorName(frame))
                               : fmt::format("{} bytes follow its zstd frame", c.compressed_bytes - frame));
    const size_t n = ZSTD_decompressDCtx(m_zstd.get(), m_events.get(), c.event_bytes, src, c.compressed_bytes);
    if (ZSTD_isError(n)) return chunk_error(fmt::format("its zstd frame is damaged: {}", ZSTD_getErrorName(n)));
    if (n != c.event_bytes)
        return chunk_error(fmt::format("its zstd frame gave {} bytes; the header says {}", n, c.event_bytes));
    return ok();
}

// Every event's framing, kind, payload and instruction count, before next() returns any.
Result<void> LogReader::check_events(const ChunkHeader& c) {
    m_chunk_end.reset();
    m_used = 0;
    m_pos = 0;
    const size_t size = c.event_bytes;
    uint64_t last = m_last_icount;
    uint32_t k = 0;
    for (size_t pos = 0; pos < size; ++k) {
        const auto bad = [&](const std::string& why) {
            return chunk_error(fmt::format("event {} (byte {} of the chunk): {}", k, pos, why));
        };
        if (size - pos < kEventHeaderBytes) return bad(fmt::format("it runs past the chunk's end ({} bytes)", size));
        const auto e =
            decode_event_header(std::span<const uint8_t, kEventHeaderBytes>(m_events.get() + pos, kEventHeaderBytes));
        if (e.payload_bytes > kMaxPayload)
            return bad(fmt::format("a payload of {} bytes, more than {}", e.payload_bytes, kMaxPayload));
        if (size - pos - kEventHeaderBytes < e.payload_bytes)
            return bad(fmt::format("its {}-byte payload runs past the chunk's end ({} bytes)", e.payload_bytes, size));
        if (m_chunk_end) return bad("it follows the end record");
        if (e.icount < last)
            return bad(fmt::format("its instruction count {} is below {} (the event before it, or the start)", e.icount,
                                   last));
        if (k == 0 && e.icount != c.first_icount)
            return bad(fmt::format("its instruction count {} is not the chunk's first ({})", e.icount, c.first_icount));
        const std::span<const uint8_t> payload(m_events.get() + pos + kEventHeaderBytes, e.payload_bytes);
        if (is_known_kind(e.kind)) {
            if (auto valid = check_payload(static_cast<EventKind>(e.kind), e.payload_bytes); !valid)
                return bad(valid.error().message);
        } else if ((e.kind & kOptionalKindBit) == 0) {
            return bad(fmt::format(
                "kind {:#06x} is not one this trapeze knows (the log is format {}.{}, this trapeze reads {}.{})",
                e.kind, m_version.major, m_version.minor, kMajorVersion, kMinorVersion));
        }
        if (e.kind == static_cast<uint16_t>(EventKind::End)) {
            const uint64_t before = load_le<uint64_t>(payload.data() + 16);
            if (before != m_counted + k)
                return bad(
                    fmt::format("the end record counts {} events before it; the log holds {}", before, m_counted + k));
            m_chunk_end = EndRecord{e.icount, load_le<uint64_t>(payload.data()), load_le<uint64_t>(payload.data() + 8)};
        }
        last = e.icount;
        pos += kEventHeaderBytes + e.payload_bytes;
    }
    if (k != c.events) return chunk_error(fmt::format("it holds {} events; its header says {}", k, c.events));
    if (last != c.last_icount)
        return chunk_error(
            fmt::format("its last event's instruction count is {}; its header says {}", last, c.last_icount));
    m_used = size;
    return ok();
}

}  // namespace trapeze::replay
