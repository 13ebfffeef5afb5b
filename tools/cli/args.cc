#include "tools/cli/args.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace hotpath::cli {
namespace {

constexpr char kUsagePayload[] = "hotpath.cli/usage";

const OptionSpec* Find(const std::vector<OptionSpec>& specs, const std::string& name) {
  auto it = std::find_if(specs.begin(), specs.end(),
                         [&](const OptionSpec& spec) { return spec.name == name; });
  return it == specs.end() ? nullptr : &*it;
}

}  // namespace

absl::Status UsageError(const std::string& message) {
  absl::Status status = absl::InvalidArgumentError(message);
  status.SetPayload(kUsagePayload, absl::Cord("1"));
  return status;
}

bool IsUsageError(const absl::Status& status) {
  return status.GetPayload(kUsagePayload).has_value();
}

absl::StatusOr<Args> Args::Parse(const std::vector<std::string>& argv,
                                 const std::vector<OptionSpec>& specs, bool stop_at_positional) {
  Args args;
  bool options_done = false;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& token = argv[i];
    if (options_done || token.size() < 3 || token.compare(0, 2, "--") != 0) {
      if (token == "--" && !options_done) {
        options_done = true;
        continue;
      }
      if (stop_at_positional) {
        args.rest_.assign(argv.begin() + static_cast<ptrdiff_t>(i), argv.end());
        return args;
      }
      args.positional_.push_back(token);
      continue;
    }
    std::string name = token.substr(2);
    std::optional<std::string> value;
    if (const size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    }
    const OptionSpec* spec = Find(specs, name);
    if (spec == nullptr) return UsageError(absl::StrCat("unknown option --", name));
    if (!spec->takes_value) {
      if (value.has_value()) return UsageError(absl::StrCat("--", name, " takes no value"));
      value = "true";
    } else if (!value.has_value()) {
      if (i + 1 >= argv.size()) return UsageError(absl::StrCat("--", name, " needs a value"));
      value = argv[++i];
    }
    std::vector<std::string>& values = args.values_[name];
    if (!values.empty() && !spec->repeated) {
      return UsageError(absl::StrCat("--", name, " was given twice"));
    }
    values.push_back(*std::move(value));
  }
  return args;
}

std::optional<std::string> Args::Get(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second.back();
}

std::string Args::GetOr(const std::string& name, const std::string& fallback) const {
  return Get(name).value_or(fallback);
}

std::vector<std::string> Args::GetAll(const std::string& name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

absl::StatusOr<std::optional<uint64_t>> Args::GetUint(const std::string& name) const {
  std::optional<std::string> text = Get(name);
  if (!text.has_value()) return std::optional<uint64_t>();
  uint64_t value = 0;
  if (text->empty() || (*text)[0] == '-' || !absl::SimpleAtoi(*text, &value)) {
    return UsageError(
        absl::StrCat("--", name, " must be a non-negative integer, not \"", *text, "\""));
  }
  return std::optional<uint64_t>(value);
}

absl::StatusOr<std::optional<uint32_t>> Args::GetUint32(const std::string& name) const {
  absl::StatusOr<std::optional<uint64_t>> value = GetUint(name);
  if (!value.ok()) return value.status();
  if (!value->has_value()) return std::optional<uint32_t>();
  if (**value > UINT32_MAX) {
    return UsageError(absl::StrCat("--", name, " must be at most ", UINT32_MAX));
  }
  return std::optional<uint32_t>(static_cast<uint32_t>(**value));
}

absl::StatusOr<std::optional<absl::Duration>> Args::GetDuration(const std::string& name) const {
  std::optional<std::string> text = Get(name);
  if (!text.has_value()) return std::optional<absl::Duration>();
  absl::Duration value;
  if (!absl::ParseDuration(*text, &value) || value < absl::ZeroDuration() ||
      value == absl::InfiniteDuration()) {
    return UsageError(absl::StrCat(
        "--", name, " must be a duration such as 500ms, 30s or 1h, not \"", *text, "\""));
  }
  return std::optional<absl::Duration>(value);
}

absl::StatusOr<std::pair<std::string, std::string>> SplitPair(const std::string& option,
                                                              const std::string& text) {
  const size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0) {
    return UsageError(absl::StrCat("--", option, " takes key=value, not \"", text, "\""));
  }
  return std::make_pair(text.substr(0, eq), text.substr(eq + 1));
}

}  // namespace hotpath::cli
