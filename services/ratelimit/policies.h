// Named rate-limit policies from a YAML file, so callers check `policy: "api"` instead of
// sending limits, and operators change limits without touching callers:
//
//   policies:
//     - name: api
//       limits:                      # all of them, checked as one step
//         - {algorithm: token_bucket, limit: 100, period: 1s, burst: 200}
//         - {algorithm: fixed_window, limit: 10000, period: 1h}
//       overrides:                   # per key, first match wins; "prefix*" matches a prefix
//         - key: premium-*
//           limits: [{algorithm: token_bucket, limit: 1000, period: 1s}]
//     - name: signup
//       shadow: true                 # decide and count, but allow
//       limits: [{algorithm: sliding_window, limit: 5, period: 1h}]
//
// Periods are durations such as 250ms, 1s, 5m, 1h, 24h. Unknown keys are errors.
// Thread safety: immutable after loading; share by shared_ptr<const PolicySet>.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "services/ratelimit/limiter.h"

namespace hotpath::ratelimit {

struct Policy {
  struct Override {
    std::string key;  // without the trailing '*' when `prefix`
    bool prefix = false;
    std::vector<Limit> limits;
  };
  std::string name;
  std::vector<Limit> limits;
  std::vector<Override> overrides;
  bool shadow = false;

  // The limits that apply to `key`: the first matching override's, else the policy's.
  const std::vector<Limit>& LimitsFor(std::string_view key) const;
};

class PolicySet {
 public:
  // InvalidArgument naming the file and the place (policies[2].limits[0].period: ...).
  static absl::StatusOr<std::shared_ptr<const PolicySet>> Load(const std::string& path);
  static absl::StatusOr<std::shared_ptr<const PolicySet>> Parse(const std::string& name,
                                                                const std::string& text);

  // Null for an unknown name.
  const Policy* Find(std::string_view name) const;
  std::vector<std::string> names() const;

 private:
  std::map<std::string, Policy, std::less<>> policies_;
};

}  // namespace hotpath::ratelimit
