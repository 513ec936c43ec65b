#include "data/JsonFields.h"

#include "data/MalformedRecord.h"
#include "dist/Check.h"

namespace ptuner::data::json_fields {

namespace {

[[noreturn]] void wrong_type(const nlohmann::json& value, const std::string& path,
                             const char* expected) {
  throw MalformedRecord(
      fmt::format("\"{}\" is a JSON {}, not {}", path, value.type_name(), expected));
}

}  // namespace

nlohmann::json parse_object(const std::string& line) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(line);
  } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range for a number too large
    throw MalformedRecord(fmt::format("broken JSON ({})", e.what()));
  }
  if (!j.is_object())
    throw MalformedRecord(fmt::format("record is a JSON {}, not an object", j.type_name()));
  return j;
}

std::string path_of(const std::string& where, const std::string& key) {
  return where.empty() ? key : where + "." + key;
}

bool has(const nlohmann::json& obj, const std::string& key) {
  const auto it = obj.find(key);
  return it != obj.end() && !it->is_null();
}

const nlohmann::json& require(const nlohmann::json& obj, const std::string& key,
                              const std::string& where) {
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null())
    throw MalformedRecord(fmt::format("missing \"{}\"", path_of(where, key)));
  return *it;
}

std::string string_field(const nlohmann::json& obj, const std::string& key,
                         const std::string& where) {
  const auto& v = require(obj, key, where);
  if (!v.is_string()) wrong_type(v, path_of(where, key), "a string");
  return v.get<std::string>();
}

int64_t int_field(const nlohmann::json& obj, const std::string& key, const std::string& where) {
  const auto& v = require(obj, key, where);
  if (!v.is_number_integer()) wrong_type(v, path_of(where, key), "an integer");
  return v.get<int64_t>();
}

bool bool_field(const nlohmann::json& obj, const std::string& key, const std::string& where) {
  const auto& v = require(obj, key, where);
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_number_integer()) {
    const auto i = v.get<int64_t>();
    if (i == 0 || i == 1) return i == 1;
    throw MalformedRecord(
        fmt::format("\"{}\" is {}, not a boolean (true / false / 0 / 1)", path_of(where, key), i));
  }
  wrong_type(v, path_of(where, key), "a boolean");
}

const nlohmann::json& array_field(const nlohmann::json& obj, const std::string& key,
                                  const std::string& where) {
  const auto& v = require(obj, key, where);
  if (!v.is_array()) wrong_type(v, path_of(where, key), "an array");
  return v;
}

const nlohmann::json& object_field(const nlohmann::json& obj, const std::string& key,
                                   const std::string& where) {
  const auto& v = require(obj, key, where);
  if (!v.is_object()) wrong_type(v, path_of(where, key), "an object");
  return v;
}

std::string id_field(const nlohmann::json& obj, const std::string& key, const std::string& where) {
  const auto& v = require(obj, key, where);
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return v.dump();
  wrong_type(v, path_of(where, key), "a string or integer");
}

}  // namespace ptuner::data::json_fields
