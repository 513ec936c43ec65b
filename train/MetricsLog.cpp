#include "train/MetricsLog.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <vector>

#include "dist/Check.h"

namespace ptuner::train {

MetricsLog::MetricsLog(const std::string& path, int64_t keep_up_to_step) : path_(path) {
  if (keep_up_to_step >= 0) {
    std::vector<std::string> kept;
    std::ifstream in(path);
    int64_t n = 0;
    for (std::string line; std::getline(in, line);) {
      ++n;
      if (line.empty()) continue;
      auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      PTUNER_CHECK(!j.is_discarded() && j.is_object() && j.contains("step") && j["step"].is_number_integer(),
                   "{}:{}: not a metrics record (a JSON object with an integer \"step\"): {}", path, n,
                   line.substr(0, 120));
      if (j["step"].get<int64_t>() <= keep_up_to_step) kept.push_back(line);
    }
    std::ofstream rewrite(path, std::ios::trunc);
    for (const auto& line : kept) rewrite << line << '\n';
    rewrite.flush();
    PTUNER_CHECK(rewrite.good(), "cannot rewrite metrics file {}: {}", path, std::strerror(errno));
  }
  fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  PTUNER_CHECK(fd_ >= 0, "cannot open metrics file {}: {}", path, std::strerror(errno));
}

MetricsLog::~MetricsLog() {
  if (fd_ >= 0) ::close(fd_);
}

void MetricsLog::write(const nlohmann::json& record) {
  const std::string line = record.dump() + '\n';
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
