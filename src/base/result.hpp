// Result<T>: host and configuration failures carried as values with context.
//
// Guest-caused conditions are never Results (they are traps, device statuses);
// bugs are assertions. A Result's error is a human-readable message that the
// CLI prints as one line.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

#include <fmt/format.h>

namespace trapeze {

struct Error {
    std::string message;
};

// Builds an Error from a fmt format string: `return make_error("open '{}': {}", path, strerror(e));`
template <typename... Args>
Error make_error(fmt::format_string<Args...> f, Args&&... args) {
    return Error{fmt::format(f, std::forward<Args>(args)...)};
}

template <typename T>
class [[nodiscard]] Result {
public:
    Result(T value) : m_v(std::move(value)) {}  // NOLINT(google-explicit-constructor)
    Result(Error e) : m_v(std::move(e)) {}      // NOLINT(google-explicit-constructor)

    bool ok() const { return m_v.index() == 0; }
    explicit operator bool() const { return ok(); }

    T& value() & {
        assert(ok());
        return std::get<0>(m_v);
    }
    T&& value() && {
        assert(ok());
        return std::get<0>(std::move(m_v));
    }
    T* operator->() { return &value(); }
    T& operator*() & { return value(); }

    const Error& error() const {
        assert(!ok());
        return std::get<1>(m_v);
    }

    // Prefixes the error with context: "load kernel: open 'x': ENOENT".
    Result context(std::string_view what) && {
        if (!ok()) std::get<1>(m_v).message = fmt::format("{}: {}", what, std::get<1>(m_v).message);
        return std::move(*this);
    }

private:
    std::variant<T, Error> m_v;
};

template <>
class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Error e) : m_err(std::move(e)), m_ok(false) {}  // NOLINT(google-explicit-constructor)

    bool ok() const { return m_ok; }
    explicit operator bool() const { return ok(); }
    const Error& error() const {
        assert(!ok());
        return m_err;
    }
    Result context(std::string_view what) && {
        if (!m_ok) m_err.message = fmt::format("{}: {}", what, m_err.message);
        return std::move(*this);
    }

private:
    Error m_err;
    bool m_ok = true;
};

inline Result<void> ok() { return {}; }

}  // namespace trapeze

// Propagates an error from an expression returning Result<...>.
#define TRAPEZE_TRY(expr)                               \
    do {                                                \
        auto trapeze_try_r_ = (expr);                   \
        if (!trapeze_try_r_.ok()) return trapeze_try_r_.error(); \
    } while (0)

// Declares `var` as the value of an expression returning Result<T>, or propagates its error.
#define TRAPEZE_TRY_ASSIGN(var, expr)                   \
    auto var##_result = (expr);                         \
    if (!var##_result) return var##_result.error();     \
    auto var = std::move(*var##_result)
