#include "api/json_fields.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace trapeze::api {

namespace {

// The deepest nesting of arrays and objects in `body` (strings skipped), counted before parsing:
// no request of the API nests deeper than a handful, and a body of a million `[` would cost a
// parsed tree of a million values (hundreds of MiB with a large --http-api-max-payload-size).
size_t nesting(std::string_view body) {
    size_t depth = 0, deepest = 0;
    bool in_string = false, escaped = false;
    for (const char c : body) {
        if (in_string) {
            if (escaped) escaped = false;
            else if (c == '\\') escaped = true;
            else if (c == '"') in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            deepest = std::max(deepest, ++depth);
        } else if ((c == ']' || c == '}') && depth > 0) {
            --depth;
        }
    }
    return deepest;
}

}  // namespace

Result<json> parse_json_body(std::string_view body) {
    if (body.empty()) return make_error("the request needs a JSON body");
    if (nesting(body) > kMaxJsonDepth)
        return make_error("the body nests arrays and objects deeper than {} levels", kMaxJsonDepth);
    json j = json::parse(body, nullptr, false);
    if (j.is_discarded()) return make_error("the body is not valid JSON");
    return j;
}

Result<JsonFields> JsonFields::of(const json& j, std::string_view what, std::initializer_list<std::string_view> allowed) {
    if (!j.is_object()) return make_error("{}: expected a JSON object", what);
    for (const auto& [key, value] : j.items()) {
        bool known = false;
        for (std::string_view a : allowed) known = known || a == key;
        if (!known) return make_error("{}: unknown field `{}`, expected one of `{}`", what, key, fmt::join(allowed, "`, `"));
    }
    return JsonFields(j, what);
}

Error JsonFields::wrong_type(std::string_view key, std::string_view expected) const {
    return make_error("{}: field `{}` must be {}", m_what, key, expected);
}

Error JsonFields::missing(std::string_view key) const { return make_error("{}: missing field `{}`", m_what, key); }

Result<std::optional<std::string>> JsonFields::string(std::string_view key) const {
    const auto it = m_j->find(key);
    if (it == m_j->end()) return std::optional<std::string>{};
    if (!it->is_string()) return wrong_type(key, "a string");
    return std::optional<std::string>(it->get<std::string>());
}

Result<std::optional<bool>> JsonFields::boolean(std::string_view key) const {
    const auto it = m_j->find(key);
    if (it == m_j->end()) return std::optional<bool>{};
    if (!it->is_boolean()) return wrong_type(key, "a boolean");
    return std::optional<bool>(it->get<bool>());
}

Result<std::optional<uint64_t>> JsonFields::integer(std::string_view key, uint64_t min, uint64_t max) const {
    const auto it = m_j->find(key);
    if (it == m_j->end()) return std::optional<uint64_t>{};
    if (!it->is_number_integer() || (!it->is_number_unsigned() && it->get<int64_t>() < 0))
        return wrong_type(key, fmt::format("an integer from {} to {}", min, max));
    const uint64_t v = it->get<uint64_t>();
    if (v < min || v > max) return wrong_type(key, fmt::format("an integer from {} to {}", min, max));
    return std::optional<uint64_t>(v);
}

Result<const json*> JsonFields::object(std::string_view key) const {
    const auto it = m_j->find(key);
    if (it == m_j->end()) return static_cast<const json*>(nullptr);
    if (!it->is_object()) return wrong_type(key, "an object");
    return &*it;
}

Result<const json*> JsonFields::array(std::string_view key) const {
    const auto it = m_j->find(key);
    if (it == m_j->end()) return static_cast<const json*>(nullptr);
    if (!it->is_array()) return wrong_type(key, "an array");
    return &*it;
}

}  // namespace trapeze::api
