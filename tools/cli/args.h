// Args: the command line of the `hotpath` CLI, parsed against what a command accepts.
//
//   hotpath [global options] <group> <command> [arguments] [options]
//
// Options are `--name=value`, `--name value` (for options that take a value) or `--flag`;
// an option may repeat when its spec says so (`--attr a=1 --attr b=2`); `--` ends options.
// Anything else is a positional argument. An option no spec names is an error naming it, so
// a typo never passes silently.
//
// Thread safety: none; one thread parses and reads.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace hotpath::cli {

struct OptionSpec {
  std::string name;  // without the dashes
  bool takes_value = true;
  bool repeated = false;
  std::string help;  // one line, for usage text; names the value in caps first, e.g. "N ..."
};

class Args {
 public:
  // Parses `argv` (without the program name) against `specs`. Stops at the first positional
  // argument when `stop_at_positional` (the global options before the group), and leaves the
  // rest in rest(). InvalidArgument naming the option for an unknown option, a missing value,
  // a value given to a flag, or a repeat of a single-valued option.
  static absl::StatusOr<Args> Parse(const std::vector<std::string>& argv,
                                    const std::vector<OptionSpec>& specs,
                                    bool stop_at_positional = false);

  const std::vector<std::string>& positional() const { return positional_; }
  const std::vector<std::string>& rest() const { return rest_; }

  bool Has(const std::string& name) const { return values_.count(name) > 0; }
  // The last value given, or nullopt.
  std::optional<std::string> Get(const std::string& name) const;
  std::string GetOr(const std::string& name, const std::string& fallback) const;
  // Every value of a repeated option, in order.
  std::vector<std::string> GetAll(const std::string& name) const;

  // Typed reads; InvalidArgument naming the option for a malformed value.
  absl::StatusOr<std::optional<uint64_t>> GetUint(const std::string& name) const;
  // GetUint, and at most UINT32_MAX (the range of the proto field it feeds).
  absl::StatusOr<std::optional<uint32_t>> GetUint32(const std::string& name) const;
  // Go-style durations: "250ms", "30s", "1h30m".
  absl::StatusOr<std::optional<absl::Duration>> GetDuration(const std::string& name) const;

 private:
  std::map<std::string, std::vector<std::string>> values_;
  std::vector<std::string> positional_;
  std::vector<std::string> rest_;
};

// An InvalidArgument error marked as a usage error (the CLI exits 2 and prints usage for it,
// and 1 for errors the server returned).
absl::Status UsageError(const std::string& message);
bool IsUsageError(const absl::Status& status);

// Splits "key=value" (a repeated map option such as --attr); InvalidArgument naming `option`
// when there is no '=' or the key is empty.
absl::StatusOr<std::pair<std::string, std::string>> SplitPair(const std::string& option,
                                                              const std::string& text);

}  // namespace hotpath::cli
