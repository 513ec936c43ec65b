#include "train/MetricsLog.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include <spdlog/spdlog.h>

#include <cstdio>

#include "dist/Check.h"
#include "dist/JsonText.h"

namespace ptuner::train {

std::vector<MetricsRecord> read_metrics_records(const std::string& path) {
  std::vector<std::string> lines;
  {
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
  }
  auto blank = [](const std::string& line) { return line.find_first_not_of(" \t\r") == std::string::npos; };
  while (!lines.empty() && blank(lines.back())) lines.pop_back();
  std::vector<MetricsRecord> out;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (blank(lines[i])) continue;
    auto j = nlohmann::json::parse(lines[i], nullptr, /*allow_exceptions=*/false);
    const bool good = !j.is_discarded() && j.is_object() && j.contains("step") && j["step"].is_number_integer();
    if (!good && i + 1 == lines.size()) {  // a line a crash cut short: a resumed run re-logs its step
      spdlog::warn("{}:{}: dropping a cut last line: {}", path, i + 1, lines[i].substr(0, 120));
      continue;
    }
    PTUNER_CHECK(good, "{}:{}: not a metrics record (a JSON object with an integer \"step\"): {}", path, i + 1,
                 lines[i].substr(0, 120));
    out.push_back({std::move(j), lines[i]});
  }
  return out;
}

MetricsLog::MetricsLog(const std::string& path, int64_t keep_up_to_step) : path_(path) {
  if (keep_up_to_step >= 0) {
    std::vector<std::string> kept;
    for (const auto& r : read_metrics_records(path))
      if (r.json["step"].get<int64_t>() <= keep_up_to_step) kept.push_back(r.text);
    // Rewritten beside and renamed over: a crash here leaves the old file or the new one.
    const std::string tmp = path + ".tmp";
    {
      std::ofstream rewrite(tmp, std::ios::trunc);
      for (const auto& line : kept) rewrite << line << '\n';
      rewrite.flush();
      PTUNER_CHECK(rewrite.good(), "cannot write {}: {}", tmp, std::strerror(errno));
    }
    PTUNER_CHECK(std::rename(tmp.c_str(), path.c_str()) == 0, "cannot rename {} to {}: {}", tmp, path,
                 std::strerror(errno));
  }
  fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  PTUNER_CHECK(fd_ >= 0, "cannot open metrics file {}: {}", path, std::strerror(errno));
}

MetricsLog::~MetricsLog() {
  if (fd_ >= 0) ::close(fd_);
}

void MetricsLog::write(const nlohmann::json& record) {
  const std::string line = ptuner::json_text(record) + '\n';
  struct stat st {};
  PTUNER_CHECK(::fstat(fd_, &st) == 0, "metrics file {}: {}", path_, std::strerror(errno));
  const ssize_t n = ::write(fd_, line.data(), line.size());
  if (n != static_cast<ssize_t>(line.size())) {
    const int err = n < 0 ? errno : ENOSPC;
    const bool cut_back = ::ftruncate(fd_, st.st_size) == 0;
    PTUNER_FAIL("cannot append to metrics file {}: {} ({})", path_, std::strerror(err),
                cut_back ? "the file is kept up to its last whole line" : "its last line may be cut");
  }
}

}  // namespace ptuner::train
