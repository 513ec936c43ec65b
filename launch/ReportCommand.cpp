// ptuner report RUN_DIR… [--out DIR]: a markdown table of the runs (report.md) and a plot of
// training loss and dev metrics against steps, runs overlaid (report.png, report.svg), drawn by
// launch/plot-report (matplotlib, Debian's python3-matplotlib).
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "dist/Check.h"
#include "dist/JsonText.h"
#include "launch/Commands.h"
#include "train/RunReport.h"

#ifndef PTUNER_PLOT_SCRIPT
#define PTUNER_PLOT_SCRIPT "launch/plot-report"
#endif

namespace ptuner::launch {

namespace {
struct ReportArgs {
  std::vector<std::string> runs;
  std::string out;
  bool no_plot = false;
};

std::string quoted(const std::string& s) {
  std::string out = "'";
  for (const char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}
}  // namespace

Command add_report(CLI::App& app) {
  auto a = std::make_shared<ReportArgs>();
  app.add_option("runs", a->runs, "run directories (each holding metrics.jsonl, and checkpoint-last.h5 when saved)")
      ->required();
  app.add_option("--out", a->out, "where report.md, report.png and report.svg go (default: the first run directory)");
  app.add_flag("--no-plot", a->no_plot, "the table only (no python3-matplotlib needed)");
  return [a]() {
    namespace fs = std::filesystem;
    std::vector<train::RunSummary> runs;
    for (const auto& dir : a->runs) runs.push_back(train::RunSummary::read(dir));
    const std::string out = a->out.empty() ? a->runs.front() : a->out;
    fs::create_directories(out);
    const std::string table = train::report_table(runs);
    {
      std::ofstream md(out + "/report.md");
      md << "# ptuner report\n\n" << table;
      md.flush();
      PTUNER_CHECK(md.good(), "report: cannot write {}/report.md", out);
    }
    std::cout << table;
    if (a->no_plot) return 0;
    nlohmann::json data = {{"runs", nlohmann::json::array()}};
    for (const auto& r : runs) data["runs"].push_back(r.to_json());
    const std::string data_path = out + "/report-data.json";
    {
      std::ofstream f(data_path);
      f << ptuner::json_text(data) << '\n';
      f.flush();
      PTUNER_CHECK(f.good(), "report: cannot write {}", data_path);
    }
    const char* script_env = std::getenv("PTUNER_PLOT_SCRIPT");
    const std::string script = script_env != nullptr ? script_env : PTUNER_PLOT_SCRIPT;
    const std::string cmd = quoted(script) + " " + quoted(data_path) + " " + quoted(out + "/report");
    const int rc = std::system(cmd.c_str());
    PTUNER_CHECK(rc == 0, "report: the plot script {} failed (exit {}); the table is in {}/report.md", script,
                 WIFEXITED(rc) ? WEXITSTATUS(rc) : rc, out);
    spdlog::info("report: {}/report.md, {}/report.png, {}/report.svg", out, out, out);
    return 0;
  };
}

}  // namespace ptuner::launch
