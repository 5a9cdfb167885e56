#pragma once
// The one way benchmarks record results: a table on stdout and a JSON file under
// bench/results/ (or $HD_BENCH_RESULTS) carrying the device, driver, CUDA version,
// commit, sizes and every figure, so numbers can be compared across runs.
#include <filesystem>
#include <iosfwd>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace hd::bench {

class BenchReport {
 public:
  explicit BenchReport(std::string name);

  // Sizes and settings that hold for the whole run (model shape, prompt lengths...).
  void set(const std::string& key, nlohmann::ordered_json value) { sizes_[key] = std::move(value); }
  // One measured row; keys become table columns in first-seen order.
  void add_row(const nlohmann::ordered_json& row);
  // A sentence saying what the numbers mean or where they fall short.
  void note(const std::string& text) { notes_.push_back(text); }

  void print_table(std::ostream& out) const;
  // Writes <dir>/<name>-<device>-<commit>.json and returns its path.
  std::filesystem::path write_json() const;
  nlohmann::ordered_json to_json() const;

 private:
  std::string name_;
  nlohmann::ordered_json environment_;
  nlohmann::ordered_json sizes_ = nlohmann::ordered_json::object();
  std::vector<nlohmann::ordered_json> rows_;
  std::vector<std::string> columns_;
  std::vector<std::string> notes_;
};

// Directory results go to: $HD_BENCH_RESULTS, else <source>/bench/results.
std::filesystem::path results_dir();
// "abc1234" or "abc1234-dirty"; "unknown" outside a git checkout.
std::string git_commit();

}  // namespace hd::bench
