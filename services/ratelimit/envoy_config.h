// EnvoyConfig: envoyproxy/ratelimit's YAML configuration, loaded unchanged, and the lookup of a
// request descriptor's limit in it, with that service's semantics:
//
//   domain: edge
//   descriptors:
//     - key: remote_address          # any value: one limit per address
//       rate_limit: {unit: second, requests_per_unit: 10}
//     - key: path
//       value: /login                 # this value only
//       rate_limit: {unit: minute, requests_per_unit: 5, name: login}
//       shadow_mode: true             # decide and count, but allow
//     - key: user
//       value: "bot-*"                # a wildcard: values starting with "bot-"
//       rate_limit: {unlimited: true}
//
// A descriptor's entries walk the tree: at each level "key_value" first, then a wildcard
// "key_prefix*", then "key" alone (any value); the limit applies when the walk's last entry
// lands on a node with a rate_limit. `share_threshold: true` on a wildcard makes every value
// it matches share one counter. Keys other than envoyproxy/ratelimit's are rejected, as
// it rejects them; hotpath adds two under rate_limit: `algorithm` (fixed_window, the default
// and Envoy's, sliding_window, token_bucket or gcra) and `burst`.
//
// Thread safety: immutable after loading; share it by shared_ptr<const EnvoyConfig>.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "services/ratelimit/limiter.h"

namespace hotpath::ratelimit {

// Envoy's RateLimitResponse.RateLimit.Unit values.
enum class EnvoyUnit : int { kUnknown = 0, kSecond, kMinute, kHour, kDay, kMonth, kYear, kWeek };

// The period of a unit (MONTH is 30 days and YEAR 365, as envoyproxy/ratelimit counts them);
// 0 for kUnknown or an unknown value.
int64_t EnvoyUnitNanos(int unit);

struct EnvoyRateLimit {
  Limit limit;  // what hotpath checks
  EnvoyUnit unit = EnvoyUnit::kUnknown;
  uint32_t requests_per_unit = 0;
  std::string name;
  bool unlimited = false;
  bool shadow_mode = false;
  std::vector<std::string> replaces;
  std::string full_key;  // "domain.key_value.key": names the limit's state
};

// One level of the descriptor tree.
struct EnvoyDescriptorNode {
  std::optional<EnvoyRateLimit> limit;
  std::map<std::string, EnvoyDescriptorNode, std::less<>> children;  // "key_value" or "key"
  std::vector<std::string> wildcards;  // children whose name ends in '*', in file order
  bool share_threshold = false;        // a wildcard whose matching values share one counter
};

class EnvoyConfig {
 public:
  using Entries = std::vector<std::pair<std::string, std::string>>;

  // Loads a YAML file, or every file of a directory (a domain in two files is an error, as
  // envoyproxy/ratelimit makes it by default). InvalidArgument naming the file
  // and what is wrong; NotFound for a missing path.
  static absl::StatusOr<std::shared_ptr<const EnvoyConfig>> Load(const std::string& path);
  // The same from (file name, contents) pairs.
  static absl::StatusOr<std::shared_ptr<const EnvoyConfig>> Parse(
      const std::vector<std::pair<std::string, std::string>>& files);

  // The limit for a descriptor of `domain`, or null when none applies. `state_name`, if given,
  // receives the name of the counter it uses: "domain.key_value.key2_value2", where an entry
  // that matched a wildcard with share_threshold contributes the wildcard ("key_prefix*"), so
  // that every value it matches shares one counter.
  const EnvoyRateLimit* Match(std::string_view domain, const Entries& entries,
                              std::string* state_name = nullptr) const;
  size_t domains() const { return domains_.size(); }
  bool HasDomain(std::string_view domain) const { return domains_.contains(domain); }

 private:
  std::map<std::string, EnvoyDescriptorNode, std::less<>> domains_;
};

}  // namespace hotpath::ratelimit
