#include "gdb/listener.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace trapeze::gdb {

namespace {

constexpr std::string_view kUsage = "use tcp::PORT, tcp:HOST:PORT or unix:PATH";
// One gdb at a time; a second connection waits in the backlog until the first ends.
constexpr int kBacklog = 1;

Result<uint16_t> parse_port(std::string_view text) {
    if (text.empty() || text.size() > 5 || text.find_first_not_of("0123456789") != std::string_view::npos)
        return make_error("'{}' is not a port number", text);
    const unsigned long port = std::stoul(std::string(text));
    if (port > 65535) return make_error("port {} is above 65535", port);
    return static_cast<uint16_t>(port);
}

Result<ListenAddress> parse_tcp(std::string_view rest) {
    const size_t colon = rest.rfind(':');
    if (colon == std::string_view::npos) return make_error("no port: {}", kUsage);
    std::string_view host = rest.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    TRAPEZE_TRY_ASSIGN(port, parse_port(rest.substr(colon + 1)));
    return ListenAddress{ListenAddress::Kind::Tcp, host.empty() ? "127.0.0.1" : std::string(host), port, {}};
}

Result<ListenAddress> parse_unix(std::string_view path) {
    if (path.empty() || path.size() >= sizeof(sockaddr_un::sun_path))
        return make_error("the socket path is empty or longer than {} bytes", sizeof(sockaddr_un::sun_path) - 1);
    return ListenAddress{ListenAddress::Kind::Unix, {}, 0, std::string(path)};
}

std::string describe_bound(int fd, uint16_t& port) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return "?";
    char text[INET6_ADDRSTRLEN] = "?";
    if (ss.ss_family == AF_INET6) {
        const auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
        ::inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof text);
        port = ntohs(a->sin6_port);
        return fmt::format("[{}]:{}", text, port);
    }
    const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    ::inet_ntop(AF_INET, &a->sin_addr, text, sizeof text);
    port = ntohs(a->sin_port);
    return fmt::format("{}:{}", text, port);
}

// A listening socket on one of getaddrinfo's answers; invalid (and `err` set) if it fails.
UniqueFd listen_on(const addrinfo& ai, int& err) {
    UniqueFd fd(::socket(ai.ai_family, ai.ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai.ai_protocol));
    const int one = 1;
    if (!fd.valid() || ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        ::bind(fd.get(), ai.ai_addr, ai.ai_addrlen) != 0 || ::listen(fd.get(), kBacklog) != 0) {
        err = errno;
        return UniqueFd();
    }
    return fd;
}

Result<UniqueFd> open_tcp(const ListenAddress& a) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* found = nullptr;
    const std::string port = std::to_string(a.port);
    if (const int rc = ::getaddrinfo(a.host.c_str(), port.c_str(), &hints, &found); rc != 0)
        return make_error("gdb address '{}': {}", a.host, ::gai_strerror(rc));
    const std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> owner(found, &::freeaddrinfo);
    int err = EADDRNOTAVAIL;
    for (const addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
        UniqueFd fd = listen_on(*ai, err);
        if (fd.valid()) return fd;
    }
    return make_error("cannot listen for gdb on {}:{}: {}", a.host, a.port, std::strerror(err));
}

// An existing file at `path` is replaced only if it is a socket nobody listens on.
Result<void> remove_stale_socket(const std::string& path, const sockaddr_un& addr) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
        if (errno == ENOENT) return ok();
        return make_error("gdb socket '{}': {}", path, std::strerror(errno));
    }
    if (!S_ISSOCK(st.st_mode)) return make_error("gdb socket '{}' exists and is not a socket: not replaced", path);
    UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!probe.valid()) return make_error("cannot create a unix socket: {}", std::strerror(errno));
    if (::connect(probe.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0)
        return make_error("gdb socket '{}' is in use by another process", path);
    if (errno != ECONNREFUSED) return make_error("gdb socket '{}': {}", path, std::strerror(errno));
    if (::unlink(path.c_str()) != 0)
        return make_error("cannot remove the stale gdb socket '{}': {}", path, std::strerror(errno));
    return ok();
}

Result<UniqueFd> open_unix(const ListenAddress& a) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, a.path.c_str(), a.path.size() + 1);
    TRAPEZE_TRY(remove_stale_socket(a.path, addr));
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd.valid()) return make_error("cannot create a unix socket: {}", std::strerror(errno));
    if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0)
        return make_error("cannot bind the gdb socket '{}': {}", a.path, std::strerror(errno));
    if (::listen(fd.get(), kBacklog) != 0)
        return make_error("cannot listen on the gdb socket '{}': {}", a.path, std::strerror(errno));
    return fd;
}

}  // namespace

Result<ListenAddress> parse_listen_address(std::string_view spec) {
    if (spec.find(',') != std::string_view::npos)
        return make_error("gdb address '{}': QEMU's socket options (',server', ',wait') are not taken; {}", spec,
                          kUsage);
    const std::string context = fmt::format("gdb address '{}'", spec);
    if (spec.starts_with("tcp:")) return parse_tcp(spec.substr(4)).context(context);
    if (spec.starts_with("unix:")) return parse_unix(spec.substr(5)).context(context);
    if (!spec.empty() && spec.find_first_not_of("0123456789") == std::string_view::npos)
        return parse_tcp(fmt::format(":{}", spec)).context(context);
    return make_error("'{}' is not a gdb address: {}", spec, kUsage);
}

Result<Listener> Listener::open(std::string_view spec) {
    TRAPEZE_TRY_ASSIGN(address, parse_listen_address(spec));
    return open(address);
}

Result<Listener> Listener::open(const ListenAddress& a) {
    if (a.kind == ListenAddress::Kind::Unix) {
        // parse_unix checked the length; a ListenAddress built by hand is checked here.
        TRAPEZE_TRY(parse_unix(a.path));
        TRAPEZE_TRY_ASSIGN(fd, open_unix(a));
        return Listener(std::move(fd), "unix:" + a.path, 0, false);
    }
    TRAPEZE_TRY_ASSIGN(fd, open_tcp(a));
    uint16_t port = 0;
    std::string description = describe_bound(fd.get(), port);
    return Listener(std::move(fd), std::move(description), port, true);
}

Result<UniqueFd> Listener::accept() {
    UniqueFd conn(::accept4(m_fd.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!conn.valid()) {
        // Nobody waiting (any more): a client that gave up between poll and accept included.
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ECONNABORTED) return UniqueFd();
        return make_error("cannot accept a gdb connection on {}: {}", m_description, std::strerror(errno));
    }
    const int one = 1;
    if (m_tcp && ::setsockopt(conn.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0)
        return make_error("gdb connection: cannot set TCP_NODELAY: {}", std::strerror(errno));
    return conn;
}

}  // namespace trapeze::gdb
