#include "data/MalformedLog.h"

#include <spdlog/spdlog.h>

#include <utility>

#include "dist/Check.h"

namespace ptuner::data {

MalformedLog::MalformedLog(std::string owner, std::string path, OnError policy)
    : owner_(std::move(owner)), path_(std::move(path)), policy_(policy) {}

void MalformedLog::reject(int64_t line, const std::string& reason) {
  const std::string where = fmt::format("{}:{}: {}", path_, line, reason);
  if (policy_ == OnError::Fail) PTUNER_FAIL("{}: malformed record at {}", owner_, where);
  ++count_;
  if (reasons_.size() < kMaxKeptReasons) reasons_.push_back(where);
  const auto max_logged = static_cast<int64_t>(kMaxKeptReasons);
  if (count_ > logged_ && count_ <= max_logged) {
    logged_ = count_;
    spdlog::warn("{}: skipping malformed record at {}", owner_, where);
    if (count_ == max_logged)
      spdlog::warn("{}: further malformed records in {} are counted, not logged", owner_, path_);
  }
}

void MalformedLog::restart() {
  count_ = 0;
  reasons_.clear();
}

}  // namespace ptuner::data
