#pragma once
// Typed access to the fields of one JSON record, throwing MalformedRecord with a reason that
// names the field by its path in the record: `missing "passage.text"`,
// `"qas[0].query" is a JSON number, not a string`. `where` is the path of `obj` ("" for the
// record itself, "passage", "qas[2]").
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace ptuner::data::json_fields {

// One line -> a JSON object; "broken JSON (...)" or "record is a JSON array, not an object".
nlohmann::json parse_object(const std::string& line);

// "key" or "where.key".
std::string path_of(const std::string& where, const std::string& key);

// The fields returned by reference live in `obj`, never in a temporary key: GCC 14's
// -Wdangling-reference, which assumes otherwise, is told so where the attribute exists.
#if defined(__has_cpp_attribute)
#if __has_cpp_attribute(gnu::no_dangling)
#define PTUNER_RETURNS_INTO_ARGUMENT [[gnu::no_dangling]]
#endif
#endif
#ifndef PTUNER_RETURNS_INTO_ARGUMENT
#define PTUNER_RETURNS_INTO_ARGUMENT
#endif

// True when `obj` holds `key` with a non-null value.
bool has(const nlohmann::json& obj, const std::string& key);

PTUNER_RETURNS_INTO_ARGUMENT
const nlohmann::json& require(const nlohmann::json& obj, const std::string& key,
                              const std::string& where = "");
std::string string_field(const nlohmann::json& obj, const std::string& key,
                         const std::string& where = "");
int64_t int_field(const nlohmann::json& obj, const std::string& key, const std::string& where = "");
// A JSON boolean, or the integers 0 / 1.
bool bool_field(const nlohmann::json& obj, const std::string& key, const std::string& where = "");
PTUNER_RETURNS_INTO_ARGUMENT
const nlohmann::json& array_field(const nlohmann::json& obj, const std::string& key,
                                  const std::string& where = "");
PTUNER_RETURNS_INTO_ARGUMENT
const nlohmann::json& object_field(const nlohmann::json& obj, const std::string& key,
                                   const std::string& where = "");
// A string or an integer, as a string (ids: "idx": 12 -> "12").
std::string id_field(const nlohmann::json& obj, const std::string& key,
                     const std::string& where = "");

}  // namespace ptuner::data::json_fields
