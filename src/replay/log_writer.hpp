// LogWriter: records a replay log (log_format.hpp) as the machine runs.
//
// The file is written in place, header first: there is no temporary file to rename, so a
// recording cut short by a crash is still a log at the name the operator gave, readable up to
// its last complete chunk (LogReader then says the end record is missing). Events are gathered
// in one chunk buffer; once it holds `chunk_bytes` the chunk is compressed and written with
// one pwrite(2), so the file only ever ends in a whole chunk or a torn last one. finish()
// writes the end record and what is left. Nothing is fsync'ed: what trapeze wrote survives a
// crash of trapeze, not of the host.
//
// Memory is fixed at create(): the chunk buffer, its compressed copy and zstd's context
// (allocated at the first chunk, then reused). append() copies into the buffer and allocates
// nothing, so a hart or VMM thread may call it; a write error is a Result, never an abort, and
// once the file could not be written every later call returns that error. One thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "base/result.hpp"
#include "base/unique_fd.hpp"
#include "replay/event.hpp"
#include "replay/log_format.hpp"

struct ZSTD_CCtx_s;

namespace trapeze::replay {

struct WriterOptions {
    // A chunk is written once its events reach this many bytes (kEventHeaderBytes to
    // kMaxChunkBytes). An event larger than that makes a chunk of its own.
    size_t chunk_bytes = kDefaultChunkBytes;
    int zstd_level = 3;  // zstd's default: about 1 ms per 128 KiB chunk
};

class LogWriter {
public:
    // Creates (or truncates) `path`, mode 0600 (console input may hold passwords), and writes
    // the header. `header.machine` is at most kMaxDescription bytes.
    static Result<LogWriter> create(const std::string& path, const Header& header, const WriterOptions& options = {});
    // The same on a file the caller opened (before a sandbox closes open(2), say), written from
    // offset 0; `name` is for messages.
    static Result<LogWriter> create(UniqueFd fd, std::string name, const Header& header,
                                    const WriterOptions& options = {});

    LogWriter(LogWriter&&) noexcept;
    // Not assignable: assigning over a writer would drop its buffered events unwritten.
    LogWriter& operator=(LogWriter&&) = delete;
    // Writes what is buffered (best effort) if finish() was not called: the log stays
    // readable, without an end record.
    ~LogWriter();

    // An event at instruction count `icount`: never below the previous event's nor the
    // header's start. Refused without harm (the log goes on): a decreasing count, the end kind
    // (finish() writes it), a payload check_payload() refuses.
    Result<void> append(uint64_t icount, EventKind kind, uint16_t source, std::span<const uint8_t> payload);
    Result<void> append(const Event& e) { return append(e.icount, e.kind, e.source, e.payload); }
    // Writes the events buffered so far as a chunk (none: nothing), so a crash loses none of them.
    Result<void> flush();
    // Appends the end record and writes the last chunk; the log is then complete and takes no
    // more events.
    Result<void> finish(const EndRecord& end);

    bool finished() const { return m_finished; }
    uint64_t last_icount() const { return m_last_icount; }
    uint64_t events() const { return m_events; }       // appended so far, the end record not counted
    uint32_t chunks() const { return m_chunk.index; }  // written so far
    uint64_t file_bytes() const { return m_offset; }
    // The chunk buffers' size: fixed at create(), whatever the length of the recording.
    size_t buffer_bytes() const { return m_capacity + m_out_capacity; }

private:
    struct ZstdFree {
        void operator()(ZSTD_CCtx_s* c) const;
    };

    LogWriter(UniqueFd fd, std::string name, const Header& header, const WriterOptions& options);
    Result<void> check_usable() const;
    Result<void> put(uint64_t icount, EventKind kind, uint16_t source, std::span<const uint8_t> payload);
    Result<void> write_chunk();

    UniqueFd m_fd;
    std::string m_name;
    WriterOptions m_options;
    std::unique_ptr<ZSTD_CCtx_s, ZstdFree> m_zstd;
    std::unique_ptr<uint8_t[]> m_buffer;  // the chunk's events
    size_t m_capacity = 0;
    size_t m_used = 0;
    std::unique_ptr<uint8_t[]> m_out;  // chunk header and compressed events
    size_t m_out_capacity = 0;
    ChunkHeader m_chunk;  // the chunk being filled; index = chunks written
    uint64_t m_offset = 0;
    uint64_t m_last_icount = 0;
    uint64_t m_events = 0;
    std::optional<Error> m_failed;  // the write error every later call returns
    bool m_finished = false;
};

}  // namespace trapeze::replay
