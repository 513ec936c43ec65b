#include "train/MetricsLog.h"

#include <vector>

#include "dist/Check.h"

namespace ptuner::train {

MetricsLog::MetricsLog(const std::string& path, int64_t keep_up_to_step) : path_(path) {
  if (keep_up_to_step >= 0) {
    std::vector<std::string> kept;
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);) {
      auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (!j.is_discarded() && j.contains("step") && j["step"].get<int64_t>() <= keep_up_to_step)
        kept.push_back(line);
    }
    std::ofstream rewrite(path, std::ios::trunc);
    for (const auto& line : kept) rewrite << line << '\n';
  }
  out_.open(path, std::ios::app);
  PTUNER_CHECK(out_.good(), "cannot open metrics file {}", path);
}

void MetricsLog::write(const nlohmann::json& record) {
  out_ << record.dump() << '\n';
  out_.flush();
}

}  // namespace ptuner::train
