// Where gdb connects: the listening socket of `--gdb ADDRESS`, in QEMU's -gdb syntax.
//
//   tcp::PORT        127.0.0.1:PORT. QEMU binds every interface here; we do not, because the
//                    stub has no authentication and gives whoever connects the guest's memory.
//                    Ask for it with tcp:0.0.0.0:PORT.
//   tcp:HOST:PORT    HOST a name or a numeric address ([::1] for IPv6); PORT 0 picks a free one
//   unix:PATH        a unix socket; a stale socket file there (nobody listening) is replaced,
//                    any other file is left alone and refused. The file is not removed when
//                    the listener closes (the next open replaces it).
//   PORT             tcp::PORT, as QEMU's -gdb takes a bare port too
//
// QEMU's character-device options (",server=on", ",wait=off") are refused: the stub always
// listens, and --gdb-wait says whether the guest waits.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "base/unique_fd.hpp"

namespace trapeze::gdb {

struct ListenAddress {
    enum class Kind : uint8_t { Tcp, Unix };
    Kind kind = Kind::Tcp;
    std::string host;  // Tcp: without brackets
    uint16_t port = 0;
    std::string path;  // Unix
};

Result<ListenAddress> parse_listen_address(std::string_view spec);

class Listener {
public:
    static Result<Listener> open(std::string_view spec);
    static Result<Listener> open(const ListenAddress& address);

    // The listening socket is non-blocking: poll fd() for a connection, then accept(). Gives an
    // invalid UniqueFd when none is waiting (any more). The connection is blocking, close-on-
    // exec, and for TCP has Nagle's algorithm off (every packet is a round trip with gdb).
    Result<UniqueFd> accept();

    int fd() const { return m_fd.get(); }
    // "127.0.0.1:1234", "[::1]:1234" or "unix:/path", with the port actually bound.
    const std::string& description() const { return m_description; }
    uint16_t port() const { return m_port; }  // the bound TCP port; 0 for a unix socket

private:
    Listener(UniqueFd fd, std::string description, uint16_t port, bool tcp)
        : m_fd(std::move(fd)), m_description(std::move(description)), m_port(port), m_tcp(tcp) {}

    UniqueFd m_fd;
    std::string m_description;
    uint16_t m_port = 0;
    bool m_tcp = true;
};

}  // namespace trapeze::gdb
