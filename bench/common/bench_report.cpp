#include "bench_report.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <thread>

#include "hd/kernels/device.h"

namespace hd::bench {
namespace {

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  }
  return "unknown CPU";
}

std::string slug(std::string s) {
  for (char& c : s) c = std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::tolower(c)) : '-';
  s.erase(std::unique(s.begin(), s.end(), [](char a, char b) { return a == '-' && b == '-'; }), s.end());
  while (!s.empty() && s.back() == '-') s.pop_back();
  return s;
}

std::string utc_now() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

std::string cell(const nlohmann::ordered_json& v) {
  if (v.is_null()) return "-";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_float()) {
    double d = v.get<double>();
    std::ostringstream o;
    if (d != 0 && (std::abs(d) >= 1e5 || std::abs(d) < 1e-2)) o << std::setprecision(3) << std::scientific << d;
    else o << std::fixed << std::setprecision(std::abs(d) >= 100 ? 1 : 3) << d;
    return o.str();
  }
  return v.dump();
}

}  // namespace

BenchReport::BenchReport(std::string name) : name_(std::move(name)) {
  DeviceInfo d = query_device(0);
  utsname u{};
  uname(&u);
  environment_ = {
      {"benchmark", name_},
      {"time_utc", utc_now()},
      {"commit", git_commit()},
      {"host_cpu", cpu_model()},
      {"host_threads", std::thread::hardware_concurrency()},
      {"kernel", std::string(u.sysname) + " " + u.release},
      {"cuda_build", cuda_runtime_text()},
  };
  if (d.available) {
    environment_["device"] = d.name;
    environment_["device_memory_bytes"] = d.memory_bytes;
    environment_["device_sms"] = d.multiprocessors;
    environment_["compute_capability"] = std::to_string(d.compute_major) + "." + std::to_string(d.compute_minor);
    environment_["driver_cuda_version"] =
        std::to_string(d.driver_version / 1000) + "." + std::to_string((d.driver_version % 1000) / 10);
  } else {
    environment_["device"] = "CPU: " + cpu_model();
    environment_["device_note"] = d.reason;
  }
}

void BenchReport::add_row(const nlohmann::ordered_json& row) {
  for (auto it = row.begin(); it != row.end(); ++it) {
    if (std::find(columns_.begin(), columns_.end(), it.key()) == columns_.end()) columns_.push_back(it.key());
  }
  rows_.push_back(row);
}

void BenchReport::print_table(std::ostream& out) const {
  std::vector<std::size_t> width(columns_.size());
  for (std::size_t c = 0; c < columns_.size(); ++c) {
    width[c] = columns_[c].size();
    for (const auto& r : rows_) width[c] = std::max(width[c], cell(r.value(columns_[c], nlohmann::ordered_json())).size());
  }
  out << "\n" << name_ << " on " << environment_["device"].get<std::string>() << " (commit "
      << environment_["commit"].get<std::string>() << ")\n";
  for (auto it = sizes_.begin(); it != sizes_.end(); ++it) out << "  " << it.key() << ": " << cell(it.value()) << "\n";
  auto line = [&] {
    for (std::size_t c = 0; c < columns_.size(); ++c) out << "+" << std::string(width[c] + 2, '-');
    out << "+\n";
  };
  line();
  for (std::size_t c = 0; c < columns_.size(); ++c) out << "| " << std::setw(static_cast<int>(width[c])) << columns_[c] << " ";
  out << "|\n";
  line();
  for (const auto& r : rows_) {
    for (std::size_t c = 0; c < columns_.size(); ++c) {
      out << "| " << std::setw(static_cast<int>(width[c])) << cell(r.value(columns_[c], nlohmann::ordered_json())) << " ";
    }
    out << "|\n";
  }
  line();
  for (const auto& n : notes_) out << "  note: " << n << "\n";
}

nlohmann::ordered_json BenchReport::to_json() const {
  return {{"environment", environment_}, {"sizes", sizes_}, {"rows", rows_}, {"notes", notes_}};
}

std::filesystem::path BenchReport::write_json() const {
  std::filesystem::path dir = results_dir();
  std::filesystem::create_directories(dir);
  std::filesystem::path file =
      dir / (name_ + "-" + slug(environment_["device"].get<std::string>()) + "-" + environment_["commit"].get<std::string>() + ".json");
  std::ofstream(file) << to_json().dump(2) << "\n";
  return file;
}

}  // namespace hd::bench
