#include "data/Submission.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <set>

#include "data/Metrics.h"
#include "data/Task.h"
#include "dist/Check.h"

namespace ptuner::data {

namespace {

// A prediction as the metrics read it: without surrounding whitespace.
std::string submission_strip(const std::string& s) {
  const char* space = " \t\n\r\f\v";
  const auto first = s.find_first_not_of(space);
  if (first == std::string::npos) return "";
  return s.substr(first, s.find_last_not_of(space) - first + 1);
}

// An idx as the test file had it: a number where it is an integer, else the string.
nlohmann::json submission_idx(const std::string& id, const std::string& task, size_t row) {
  PTUNER_CHECK(!id.empty(), "{} test example {} has no idx: the leaderboard file needs each example's", task, row);
  const bool integer = std::all_of(id.begin(), id.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (integer && id.size() < 19) return std::stoll(id);
  return id;
}

struct LeaderboardFormat {
  const char* task;
  const char* file;   // the leaderboard's name for it
  bool tsv;           // GLUE: "index<TAB>prediction"; else SuperGLUE JSON lines
  // The task's labels (TaskSpec::labels, in order) as the file writes them; empty: the text.
  std::vector<std::string> written;
};

const std::vector<LeaderboardFormat>& leaderboard_formats() {
  static const std::vector<LeaderboardFormat> formats = {
      {"boolq", "BoolQ.jsonl", false, {"false", "true"}},
      {"cb", "CB.jsonl", false, {}},
      {"copa", "COPA.jsonl", false, {"0", "1"}},
      {"multirc", "MultiRC.jsonl", false, {"0", "1"}},
      {"record", "ReCoRD.jsonl", false, {}},
      {"rte", "RTE.jsonl", false, {}},
      {"wic", "WiC.jsonl", false, {"false", "true"}},
      {"wsc", "WSC.jsonl", false, {}},
      {"axb", "AX-b.jsonl", false, {}},
      {"axg", "AX-g.jsonl", false, {}},
      {"cola", "CoLA.tsv", true, {"0", "1"}},
      {"sst2", "SST-2.tsv", true, {"0", "1"}},
      {"mrpc", "MRPC.tsv", true, {"0", "1"}},
      {"qqp", "QQP.tsv", true, {"0", "1"}},
      {"stsb", "STS-B.tsv", true, {}},
      {"mnli", "MNLI-m.tsv", true, {}},
      {"qnli", "QNLI.tsv", true, {}},
      {"glue_rte", "RTE.tsv", true, {}},
      {"wnli", "WNLI.tsv", true, {"0", "1"}},
  };
  return formats;
}

// A ReCoRD prediction may hold invalid UTF-8 (byte pieces cut inside a character): written with
// U+FFFD there, as JSON cannot carry it.
constexpr auto kReplace = nlohmann::json::error_handler_t::replace;

// JSON scalars of COPA's and MultiRC's labels are numbers; the others' strings.
nlohmann::json json_label(const std::string& task, const std::string& written) {
  if (task == "copa" || task == "multirc") return std::stoi(written);
  return written;
}

}  // namespace

bool has_leaderboard_file(const std::string& task) {
  const auto& formats = leaderboard_formats();
  return std::any_of(formats.begin(), formats.end(), [&](const LeaderboardFormat& f) { return task == f.task; });
}

Submission leaderboard_submission(const std::string& task, const std::string& test_path,
                                  const std::vector<TextToTextExample>& examples,
                                  const std::vector<std::string>& predictions) {
  const auto& formats = leaderboard_formats();
  const auto format = std::find_if(formats.begin(), formats.end(),
                                   [&](const LeaderboardFormat& f) { return task == f.task; });
  PTUNER_CHECK(format != formats.end(),
               "task '{}' has no GLUE or SuperGLUE leaderboard file (the leaderboards' tasks: boolq, cb, copa, "
               "multirc, record, rte, wic, wsc, axb, axg, cola, sst2, mrpc, qqp, stsb, mnli, qnli, glue_rte, wnli)",
               task);
  PTUNER_CHECK(examples.size() == predictions.size(), "{} examples but {} predictions for the {} leaderboard file",
               examples.size(), predictions.size(), task);
  Submission out;
  out.file_name = format->file;
  if (task == "mnli") {
    const std::string name = test_path.substr(test_path.find_last_of('/') + 1);
    if (name.find("mismatched") != std::string::npos) out.file_name = "MNLI-mm.tsv";
    if (name.rfind("AX", 0) == 0 || name.find("diagnostic") != std::string::npos) out.file_name = "AX.tsv";
  }
  const auto& labels = task_spec(task).labels;
  // The prediction as the file writes it; an illegal one as the first label's, counted.
  auto written = [&](size_t i) -> std::string {
    const std::string p = submission_strip(predictions[i]);
    if (task == "stsb") {
      char* end = nullptr;
      const double v = p.empty() ? 0.0 : std::strtod(p.c_str(), &end);
      if (p.empty() || end != p.c_str() + p.size() || !(v == v)) {
        ++out.not_a_label;
        out.written_instead = "2.500";
        return "2.500";
      }
      return fmt::format("{:.3f}", std::min(5.0, std::max(0.0, v)));
    }
    if (task == "wsc") return wsc_simple(p, examples[i].targets) == 1 ? "True" : "False";
    if (task == "record") return p;
    const auto at = std::find(labels.begin(), labels.end(), p);
    size_t k = static_cast<size_t>(at - labels.begin());
    if (at == labels.end()) {
      ++out.not_a_label;
      k = 0;
    }
    const std::string w = format->written.empty() ? labels.at(k) : format->written.at(k);
    if (at == labels.end()) out.written_instead = w;
    return w;
  };

  if (format->tsv) {
    out.text = "index\tprediction\n";
    for (size_t i = 0; i < examples.size(); ++i) {
      PTUNER_CHECK(!examples[i].id.empty(), "{} test row {} has no index", task, i);
      out.text += examples[i].id + "\t" + written(i) + "\n";
      ++out.records;
    }
    return out;
  }
  if (task == "multirc") {
    // One line per passage, its questions and answers in file order. Ids are "p-q-a" with the
    // group "p-q" (MultiRcFormat): the passage's idx up to the first '-', the question's after.
    std::vector<std::string> passages;
    std::map<std::string, std::vector<std::string>> questions;                        // p -> q, in order
    std::map<std::pair<std::string, std::string>, nlohmann::json> answers;            // (p, q) -> answers
    for (size_t i = 0; i < examples.size(); ++i) {
      const auto& ex = examples[i];
      const auto dash = ex.group.find('-');
      PTUNER_CHECK(dash != std::string::npos && ex.id.size() > ex.group.size() + 1 &&
                       ex.id.compare(0, ex.group.size() + 1, ex.group + "-") == 0,
                   "multirc test example {} has no passage-question-answer idx (id '{}')", i, ex.id);
      const std::string p = ex.group.substr(0, dash), q = ex.group.substr(dash + 1);
      const std::string a = ex.id.substr(ex.group.size() + 1);
      if (!questions.count(p)) passages.push_back(p);
      auto& qs = questions[p];
      if (std::find(qs.begin(), qs.end(), q) == qs.end()) qs.push_back(q);
      answers[{p, q}].push_back(
          {{"idx", submission_idx(a, task, i)}, {"label", json_label(task, written(i))}});
    }
    for (const auto& p : passages) {
      nlohmann::json qs = nlohmann::json::array();
      for (const auto& q : questions.at(p))
        qs.push_back({{"idx", submission_idx(q, task, 0)}, {"answers", answers.at({p, q})}});
      out.text += nlohmann::json{{"idx", submission_idx(p, task, 0)}, {"passage", {{"questions", qs}}}}.dump(-1, ' ', false, kReplace) + "\n";
      ++out.records;
    }
    return out;
  }
  std::set<std::string> seen_queries;  // ReCoRD: the first example of each query
  for (size_t i = 0; i < examples.size(); ++i) {
    if (task == "record" && !seen_queries.insert(examples[i].id).second) continue;
    out.text += nlohmann::json{{"idx", submission_idx(examples[i].id, task, i)},
                               {"label", json_label(task, written(i))}}
                    .dump(-1, ' ', false, kReplace) +
                "\n";
    ++out.records;
  }
  return out;
}

}  // namespace ptuner::data
