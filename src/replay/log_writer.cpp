#include "replay/log_writer.hpp"

#include <fcntl.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/bits.hpp"
#include "snapshot/crc64.hpp"
#include "snapshot/file_output.hpp"

namespace trapeze::replay {

static_assert(ZSTD_COMPRESSBOUND(kMaxChunkBytes) <= kMaxCompressedBytes);

void LogWriter::ZstdFree::operator()(ZSTD_CCtx_s* c) const {
    ZSTD_freeCCtx(c);
}

Result<LogWriter> LogWriter::create(const std::string& path, const Header& header, const WriterOptions& options) {
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!fd.valid()) return make_error("create replay log '{}': {}", path, std::strerror(errno));
    return create(std::move(fd), path, header, options);
}

Result<LogWriter> LogWriter::create(UniqueFd fd, std::string name, const Header& header, const WriterOptions& options) {
    const std::string what = fmt::format("replay log '{}'", name);
    if (options.chunk_bytes < kEventHeaderBytes || options.chunk_bytes > kMaxChunkBytes)
        return make_error("{}: a chunk of {} bytes; it must be {} to {}", what, options.chunk_bytes, kEventHeaderBytes,
                          kMaxChunkBytes);
    if (header.machine.size() > kMaxDescription)
        return make_error("{}: the machine description is {} bytes, more than {}", what, header.machine.size(),
                          kMaxDescription);
    if (options.zstd_level < ZSTD_minCLevel() || options.zstd_level > ZSTD_maxCLevel())
        return make_error("{}: zstd level {}: levels are {} to {}", what, options.zstd_level, ZSTD_minCLevel(),
                          ZSTD_maxCLevel());
    LogWriter w(std::move(fd), std::move(name), header, options);
    if (!w.m_zstd) return make_error("{}: zstd could not make a compression context", what);
    const auto level = ZSTD_CCtx_setParameter(w.m_zstd.get(), ZSTD_c_compressionLevel, options.zstd_level);
    if (ZSTD_isError(level))
        return make_error("{}: zstd level {}: {}", what, options.zstd_level, ZSTD_getErrorName(level));
    const auto bytes = encode_header(header);
    if (auto written = snapshot::write_all(w.m_fd.get(), 0, bytes); !written)
        return std::move(written).context(fmt::format("{}: the header", what)).error();
    w.m_offset = bytes.size();
    return w;
}

// The buffer holds any single event even when chunk_bytes is smaller (an event alone in its chunk).
LogWriter::LogWriter(UniqueFd fd, std::string name, const Header& header, const WriterOptions& options)
    : m_fd(std::move(fd)),
      m_name(std::move(name)),
      m_options(options),
      m_zstd(ZSTD_createCCtx()),
      m_capacity(std::max(options.chunk_bytes, kMaxEventBytes)),
      m_out_capacity(kChunkHeaderBytes + ZSTD_compressBound(m_capacity)),
      m_last_icount(header.start_icount) {
    m_buffer = std::make_unique_for_overwrite<uint8_t[]>(m_capacity);
    m_out = std::make_unique_for_overwrite<uint8_t[]>(m_out_capacity);
}

LogWriter::LogWriter(LogWriter&&) noexcept = default;

LogWriter::~LogWriter() {
    if (m_fd.valid() && !m_finished) (void)flush();
}

Result<void> LogWriter::check_usable() const {
    if (m_failed) return *m_failed;
    if (m_finished) return make_error("replay log '{}' is finished: it takes no more events", m_name);
    return ok();
}

Result<void> LogWriter::append(uint64_t icount, EventKind kind, uint16_t source, std::span<const uint8_t> payload) {
    TRAPEZE_TRY(check_usable());
    if (kind == EventKind::End) return make_error("replay log '{}': the end record is written by finish()", m_name);
    return put(icount, kind, source, payload);
}

Result<void> LogWriter::put(uint64_t icount, EventKind kind, uint16_t source, std::span<const uint8_t> payload) {
    if (!is_known_kind(static_cast<uint16_t>(kind)))
        return make_error("replay log '{}': event kind {:#06x} is not one this trapeze knows", m_name,
                          static_cast<uint16_t>(kind));
    if (auto valid = check_payload(kind, payload.size()); !valid)
        return std::move(valid).context(fmt::format("replay log '{}'", m_name));
    if (icount < m_last_icount)
        return make_error(
            "replay log '{}': a {} event at instruction count {}, below {} (the last event's or the start's)", m_name,
            kind_name(kind), icount, m_last_icount);
    const size_t bytes = kEventHeaderBytes + payload.size();
    if (m_used != 0 && m_used + bytes > m_options.chunk_bytes) TRAPEZE_TRY(write_chunk());
    encode_event_header({icount, static_cast<uint16_t>(kind), source, static_cast<uint32_t>(payload.size())},
                        std::span<uint8_t, kEventHeaderBytes>(m_buffer.get() + m_used, kEventHeaderBytes));
    if (!payload.empty()) std::memcpy(m_buffer.get() + m_used + kEventHeaderBytes, payload.data(), payload.size());
    if (m_chunk.events == 0) m_chunk.first_icount = icount;
    m_chunk.last_icount = icount;
    ++m_chunk.events;
    m_used += bytes;
    m_last_icount = icount;
    if (kind != EventKind::End) ++m_events;
    if (m_used >= m_options.chunk_bytes) return write_chunk();  // a full chunk goes to the file at once
    return ok();
}

Result<void> LogWriter::flush() {
    TRAPEZE_TRY(check_usable());
    return m_used == 0 ? ok() : write_chunk();
}

Result<void> LogWriter::finish(const EndRecord& end) {
    TRAPEZE_TRY(check_usable());
    uint8_t payload[EndRecord::kPayloadBytes];
    store_le<uint64_t>(payload, end.output_hash);
    store_le<uint64_t>(payload + 8, end.output_bytes);
    store_le<uint64_t>(payload + 16, m_events);
    TRAPEZE_TRY(put(end.icount, EventKind::End, 0, payload));
    if (m_used != 0) TRAPEZE_TRY(write_chunk());
    m_finished = true;
    return ok();
}

// One pwrite of header and data: a crash leaves this chunk whole or torn, never a gap.
Result<void> LogWriter::write_chunk() {
    const size_t n = ZSTD_compress2(m_zstd.get(), m_out.get() + kChunkHeaderBytes, m_out_capacity - kChunkHeaderBytes,
                                    m_buffer.get(), m_used);
    if (ZSTD_isError(n)) {
        m_failed = make_error("replay log '{}': compress chunk {}: {}", m_name, m_chunk.index, ZSTD_getErrorName(n));
        return *m_failed;
    }
    m_chunk.event_bytes = static_cast<uint32_t>(m_used);
    m_chunk.compressed_bytes = static_cast<uint32_t>(n);
    m_chunk.data_crc = snapshot::crc64({m_out.get() + kChunkHeaderBytes, n});
    encode_chunk_header(m_chunk, std::span<uint8_t, kChunkHeaderBytes>(m_out.get(), kChunkHeaderBytes));
    if (auto written = snapshot::write_all(m_fd.get(), m_offset, {m_out.get(), kChunkHeaderBytes + n}); !written) {
        m_failed = make_error("replay log '{}': chunk {} at offset {}: {}", m_name, m_chunk.index, m_offset,
                              written.error().message);
        return *m_failed;
    }
    m_offset += kChunkHeaderBytes + n;
    const uint32_t next = m_chunk.index + 1;
    m_chunk = ChunkHeader{};
    m_chunk.index = next;
    m_used = 0;
    return ok();
}

}  // namespace trapeze::replay
