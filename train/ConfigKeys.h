#pragma once
// Every key of a run config, declared once (train/ConfigKeys.cpp): its section and name, the
// RunConfig field it fills (which gives its type and, from RunConfig{}, its default), an optional
// per-key check and a one-line doc. RunConfig::from_string reads the keys and rejects unknown
// ones from this table, RunConfig::validate runs the per-key checks, and the README's
// configuration table is config_keys_markdown().
//
// A new key is one line in the table plus its RunConfig field.
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "train/RunConfig.h"

namespace ptuner::train {

// The field a key fills, as a function returning a reference into the config; the alternative
// is the field's type.
template <typename T>
using FieldOf = T& (*)(RunConfig&);
using ConfigField =
    std::variant<FieldOf<std::string>, FieldOf<bool>, FieldOf<int>, FieldOf<int64_t>, FieldOf<uint64_t>,
                 FieldOf<double>, FieldOf<std::vector<std::string>>, FieldOf<std::vector<int64_t>>,
                 FieldOf<std::vector<RunConfig::Data::MixtureEntry>>,
                 FieldOf<std::vector<RunConfig::Data::EvalSetEntry>>>;

// A check of one key's value alone (checks across keys stay in RunConfig::validate).
struct ConfigCheck {
  enum class Kind { None, OneOf, Positive, AtLeast, Below };
  Kind kind = Kind::None;
  double bound = 0;                  // AtLeast, Below
  std::vector<std::string> choices;  // OneOf (string keys)

  std::string str() const;  // as the README shows it: "one of `a`, `b`", "> 0", "≥ 1", "< 1"
};
ConfigCheck one_of(std::vector<std::string> choices);
ConfigCheck positive();
ConfigCheck at_least(double bound);
ConfigCheck below(double bound);

struct ConfigKey {
  std::string section;
  std::string name;
  ConfigField field;
  ConfigCheck check;
  std::string doc;

  std::string path() const { return section + "." + name; }  // section.name
  // "string", "bool", "int", "uint", "double", "string array", "int array", "array of tables".
  std::string type() const;
  // The field's value in `c` as TOML (`"adafactor"`, `0.3`, `["a", "b"]`): a `--set` value.
  std::string toml_value(const RunConfig& c) const;
  std::string default_toml() const { return toml_value(RunConfig{}); }
  // Throws, naming the key, the file and the value, when `c`'s value fails this key's check.
  void validate(const RunConfig& c) const;
};

// The table, in README order.
const std::vector<ConfigKey>& config_keys();
// The keys of one section (sorted), empty when no key has that section.
std::vector<std::string> config_key_names(const std::string& section);
// The README's key table (Markdown, ending in a newline).
std::string config_keys_markdown();

}  // namespace ptuner::train
