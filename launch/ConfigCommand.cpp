// ptuner config keys [--markdown]: every run-config key with its type, default, check and
// meaning, from the one table that the config reader uses (train/ConfigKeys.h). --markdown prints
// the README's configuration table.
//
// add_config(app) registers `keys` under `app`, the `config` subcommand.
#include <fmt/format.h>

#include <iostream>
#include <memory>

#include "launch/Commands.h"
#include "train/ConfigKeys.h"

namespace ptuner::launch {

Command add_config(CLI::App& app) {
  auto markdown = std::make_shared<bool>(false);
  app.require_subcommand(1);
  auto* keys = app.add_subcommand("keys", "Every run-config key: type, default, check and meaning");
  keys->add_flag("--markdown", *markdown, "the README's Markdown table (between its config-keys markers)");
  return [markdown]() {
    if (*markdown) {
      std::cout << train::config_keys_markdown();
      return 0;
    }
    std::string section;
    for (const auto& k : train::config_keys()) {
      if (k.section != section) {
        std::cout << (section.empty() ? "" : "\n") << "[" << k.section << "]\n";
        section = k.section;
      }
      const std::string check = k.check.str().empty() ? "" : "; " + k.check.str();
      std::cout << fmt::format("{} = {}  # {}{}: {}\n", k.name, k.default_toml(), k.type(), check, k.doc);
    }
    return 0;
  };
}

}  // namespace ptuner::launch
