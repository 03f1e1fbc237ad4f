// LogReader: reads a replay log (log_format.hpp) one chunk at a time, for replay.
//
// The file is untrusted (anyone may have edited it, and a recording may have been cut short),
// so open() checks the header, and each chunk is checked whole before any of its events is
// returned: header checksum, index, bounds, data checksum, a zstd frame of exactly the size
// the header declares (into a buffer of kMaxChunkBytes, so no frame can make it larger), then
// every event's framing, kind, payload length and instruction count. A refusal names the
// chunk, its file offset and the event. Memory is fixed at open(): one chunk, compressed and
// not, and zstd's context, whatever the length of the log.
//
// A log whose writer was stopped before finish() has no end record. It is read to the last
// whole chunk (a torn last chunk is what a killed writer leaves, not damage); next() then
// returns nullopt with complete() false, and end_record() says where the recording stops.
// Once next() failed it returns the same error again.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "base/result.hpp"
#include "base/unique_fd.hpp"
#include "replay/event.hpp"
#include "replay/log_format.hpp"

struct ZSTD_DCtx_s;

namespace trapeze::replay {

class LogReader {
public:
    // A regular file only (a FIFO or device is refused, never waited on).
    static Result<LogReader> open(const std::string& path);
    // The same on a file the caller opened, read from offset 0; `name` is for messages.
    static Result<LogReader> open(UniqueFd fd, std::string name);

    LogReader(LogReader&&) noexcept;
    LogReader& operator=(LogReader&&) noexcept;
    ~LogReader();

    const Header& header() const { return m_header; }
    LogVersion version() const { return m_version; }

    // The next event (its payload valid until the next call), or nullopt after the last one:
    // the end record, or the end of what an unfinished recording left. Unknown optional kinds
    // are skipped; the end record is not returned as an event (end_record()).
    Result<std::optional<Event>> next();

    // The end record has been read: the log is whole.
    bool complete() const { return m_end.has_value(); }
    // Once next() returned nullopt: the end record, or an error saying that there is none and
    // where the recording stops.
    Result<EndRecord> end_record() const;

    uint64_t events_read() const { return m_returned; }
    uint32_t chunks_read() const { return m_chunks; }
    uint64_t last_icount() const { return m_last_icount; }
    // The chunk buffers' size: fixed at open(), whatever the file says.
    size_t buffer_bytes() const { return kMaxCompressedBytes + kMaxChunkBytes; }

private:
    struct ZstdFree {
        void operator()(ZSTD_DCtx_s* d) const;
    };

    LogReader(UniqueFd fd, std::string name, uint64_t size);
    Result<void> read_header();
    Result<void> read_exact(std::span<uint8_t> out);
    Result<bool> load_chunk();
    Result<void> decompress(const ChunkHeader& c);
    Result<void> check_events(const ChunkHeader& c);
    bool note_unfinished(uint64_t have, uint64_t need);
    Error chunk_error(const std::string& why) const;

    UniqueFd m_fd;
    std::string m_name;
    uint64_t m_size = 0;    // the file's, at open()
    uint64_t m_offset = 0;  // of the next chunk
    Header m_header;
    LogVersion m_version;
    std::unique_ptr<ZSTD_DCtx_s, ZstdFree> m_zstd;
    std::unique_ptr<uint8_t[]> m_compressed;
    std::unique_ptr<uint8_t[]> m_events;
    size_t m_used = 0;       // event bytes of the chunk being read
    size_t m_pos = 0;        // where its next event starts
    uint32_t m_chunks = 0;   // checked so far
    uint64_t m_counted = 0;  // events in those chunks, the end record not counted
    uint64_t m_returned = 0;
    uint64_t m_last_icount = 0;            // of the last event checked
    std::optional<EndRecord> m_chunk_end;  // in the chunk being read
    std::optional<EndRecord> m_end;        // reached by next()
    std::optional<Error> m_failed;
    bool m_done = false;
    std::string m_unfinished;  // where a log without end record stops
};

}  // namespace trapeze::replay
