#include "api/json_fields.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

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

// Builds the document as json::parse does, from nlohmann's SAX events, but stops at a key that
// its object already has: serde (Firecracker's parser) refuses a duplicate field, nlohmann's own
// DOM parser keeps the last value silently. The check is the insertion into the object being
// built, so it costs no memory or time beyond the document's.
class StrictDocument final : public nlohmann::json_sax<json> {
public:
    bool null() override { return add(nullptr); }
    bool boolean(bool v) override { return add(v); }
    bool number_integer(number_integer_t v) override { return add(v); }
    bool number_unsigned(number_unsigned_t v) override { return add(v); }
    bool number_float(number_float_t v, const string_t&) override { return add(v); }
    bool string(string_t& v) override { return add(std::move(v)); }
    bool binary(binary_t& v) override { return add(json::binary(std::move(v))); }
    bool start_object(std::size_t) override { return open(json::object()); }
    bool start_array(std::size_t) override { return open(json::array()); }
    bool end_object() override { return close(); }
    bool end_array() override { return close(); }
    bool key(string_t& k) override {
        auto [at, added] = m_open.back()->get_ref<json::object_t&>().try_emplace(k);
        if (!added) {
            m_repeated = std::move(k);
            return false;
        }
        m_slot = &at->second;
        return true;
    }
    bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }

    json& document() { return m_document; }
    const std::optional<std::string>& repeated() const { return m_repeated; }

private:
    // Where the next value goes: the document, the end of the open array, or the slot of the
    // open object's last key. Pointers into an array stay valid while they are on m_open: the
    // array only grows after its open element is closed.
    json* place(json v) {
        if (m_open.empty()) return &(m_document = std::move(v));
        json& parent = *m_open.back();
        if (parent.is_array()) {
            parent.push_back(std::move(v));
            return &parent.back();
        }
        *m_slot = std::move(v);
        return m_slot;
    }
    bool add(json v) {
        place(std::move(v));
        return true;
    }
    bool open(json v) {
        m_open.push_back(place(std::move(v)));
        return true;
    }
    bool close() {
        m_open.pop_back();
        return true;
    }

    json m_document;
    std::vector<json*> m_open;  // the arrays and objects not yet closed, innermost last
    json* m_slot = nullptr;
    std::optional<std::string> m_repeated;  // the key that stopped the parse
};

}  // namespace

Result<json> parse_json_body(std::string_view body) {
    if (body.empty()) return make_error("the request needs a JSON body");
    if (nesting(body) > kMaxJsonDepth)
        return make_error("the body nests arrays and objects deeper than {} levels", kMaxJsonDepth);
    StrictDocument doc;
    if (json::sax_parse(body, &doc)) return std::move(doc.document());
    if (doc.repeated()) return make_error("a JSON object has the field `{}` twice", *doc.repeated());
    return make_error("the body is not valid JSON");
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
