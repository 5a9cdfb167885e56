#include "args.h"

#include <algorithm>

namespace hd::cli {

Args::Args(const std::vector<std::string>& argv, const std::vector<std::string>& flags_with_values) {
  for (std::size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    const bool short_flag = a.size() == 2 && a[0] == '-' && a[1] != '-' &&
                            std::find(flags_with_values.begin(), flags_with_values.end(), a) != flags_with_values.end();
    if (short_flag) {  // e.g. -k 5
      if (i + 1 >= argv.size()) throw UsageError(a + " needs a value");
      values_[a] = argv[++i];
      all_values_.emplace_back(a, values_[a]);
    } else if (a.size() > 2 && a.compare(0, 2, "--") == 0) {
      std::string flag = a, val;
      bool inline_value = false;
      if (auto eq = a.find('='); eq != std::string::npos) {
        flag = a.substr(0, eq);
        val = a.substr(eq + 1);
        inline_value = true;
      }
      bool takes_value = std::find(flags_with_values.begin(), flags_with_values.end(), flag) != flags_with_values.end();
      if (takes_value) {
        if (!inline_value) {
          if (i + 1 >= argv.size()) throw UsageError(flag + " needs a value");
          val = argv[++i];
        }
        values_[flag] = val;
        all_values_.emplace_back(flag, val);
      } else {
        if (inline_value) throw UsageError(flag + " takes no value");
        switches_[flag] = true;
      }
    } else {
      positional_.push_back(a);
    }
  }
}

std::optional<std::string> Args::value(const std::string& flag) const {
  auto it = values_.find(flag);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> Args::values(const std::string& flag) const {
  std::vector<std::string> out;
  for (const auto& [f, v] : all_values_) {
    if (f == flag) out.push_back(v);
  }
  return out;
}

std::string Args::required(const std::string& flag) const {
  auto v = value(flag);
  if (!v) throw UsageError("missing " + flag);
  return *v;
}

long long Args::integer(const std::string& flag, long long fallback) const {
  auto v = value(flag);
  if (!v) return fallback;
  try {
    std::size_t used = 0;
    long long n = std::stoll(*v, &used);
    if (used != v->size()) throw std::invalid_argument("trailing characters");
    return n;
  } catch (const std::exception&) {
    throw UsageError(flag + " needs a whole number, got \"" + *v + "\"");
  }
}

}  // namespace hd::cli
