// JsonFields: strict reading of one JSON object of the API, as Firecracker's (serde,
// deny_unknown_fields) does: a field the object does not have, a value of the wrong type or
// out of range is an error naming the object and the field, never a silent default.
//
// Thread: any (plain values).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/result.hpp"

namespace trapeze::api {

using nlohmann::json;

// Parses a request body; an empty body is an error (every body the API takes is an object).
// Deeper nesting is refused before parsing (serde_json, Firecracker's parser, stops at 128).
inline constexpr size_t kMaxJsonDepth = 128;
Result<json> parse_json_body(std::string_view body);

class JsonFields {
public:
    // Fails unless `j` is an object whose every key is in `allowed`.
    static Result<JsonFields> of(const json& j, std::string_view what, std::initializer_list<std::string_view> allowed);

    bool has(std::string_view key) const { return m_j->contains(key); }
    Result<std::optional<std::string>> string(std::string_view key) const;
    Result<std::optional<bool>> boolean(std::string_view key) const;
    Result<std::optional<uint64_t>> integer(std::string_view key, uint64_t min = 0, uint64_t max = INT64_MAX) const;
    // The value of an object-valued field (checked to be an object), if present.
    Result<const json*> object(std::string_view key) const;
    Result<const json*> array(std::string_view key) const;

    // A required field's absence.
    Error missing(std::string_view key) const;

private:
    JsonFields(const json& j, std::string_view what) : m_j(&j), m_what(what) {}
    Error wrong_type(std::string_view key, std::string_view expected) const;

    const json* m_j;
    std::string m_what;
};

}  // namespace trapeze::api
