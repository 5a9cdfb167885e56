#pragma once
// A small argument parser for `hyenadesk <command> [--flag value] [positional...]`.
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace hd::cli {

class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Args {
 public:
  // `flags_with_values`: options that take a value (e.g. "--model"); others are switches.
  Args(const std::vector<std::string>& argv, const std::vector<std::string>& flags_with_values);

  const std::vector<std::string>& positional() const { return positional_; }
  bool has(const std::string& flag) const { return values_.count(flag) || switches_.count(flag); }
  std::optional<std::string> value(const std::string& flag) const;  // the last one given
  std::vector<std::string> values(const std::string& flag) const;   // every one given, in order
  std::string required(const std::string& flag) const;
  long long integer(const std::string& flag, long long fallback) const;

 private:
  std::vector<std::string> positional_;
  std::map<std::string, std::string> values_;
  std::vector<std::pair<std::string, std::string>> all_values_;
  std::map<std::string, bool> switches_;
};

}  // namespace hd::cli
