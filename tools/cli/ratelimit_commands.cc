// hotpath ratelimit ...: RateLimiterService from the command line.
#include "absl/strings/str_cat.h"
#include "hotpath/ratelimit/v1/ratelimit.grpc.pb.h"
#include "tools/cli/cli.h"
#include "tools/cli/format.h"

namespace hotpath::cli {
namespace {

namespace v1 = hotpath::ratelimit::v1;

const std::vector<OptionSpec>& LimitOptions() {
  static const auto* options = new std::vector<OptionSpec>{
      {"policy", true, false, "NAME of a policy in the server's policy file"},
      {"limit", true, false, "N requests per --period (an inline limit instead of --policy)"},
      {"period", true, false, "D: the window or refill period, e.g. 1s, 5m"},
      {"algorithm", true, false, "token-bucket (default), sliding-window, fixed-window or gcra"},
      {"burst", true, false, "N: token-bucket and gcra capacity (default: --limit)"},
  };
  return *options;
}

// The check's key, and its policy or one inline limit, from the command line.
absl::StatusOr<v1::CheckRequest> CheckOf(Cli& cli, const Args& args) {
  if (auto s = ExpectPositional(args, 1, "KEY"); !s.ok()) return s;
  v1::CheckRequest request;
  request.set_namespace_(cli.ns());
  request.set_key(args.positional()[0]);
  if (auto policy = args.Get("policy")) {
    if (args.Has("limit") || args.Has("period") || args.Has("algorithm") || args.Has("burst")) {
      return UsageError("--policy or an inline limit (--limit, --period, ...), not both");
    }
    request.set_policy(*policy);
    return request;
  }
  auto limit = args.GetUint("limit");
  if (!limit.ok()) return limit.status();
  auto period = args.GetDuration("period");
  if (!period.ok()) return period.status();
  if (!limit->has_value() || !period->has_value()) {
    return UsageError("give --policy, or --limit and --period");
  }
  auto algorithm =
      ParseEnum(v1::Algorithm_descriptor(), "algorithm", args.GetOr("algorithm", "token-bucket"));
  if (!algorithm.ok()) return algorithm.status();
  auto burst = args.GetUint("burst");
  if (!burst.ok()) return burst.status();
  v1::Limit* out = request.add_limits();
  out->set_algorithm(static_cast<v1::Algorithm>(*algorithm));
  out->set_limit(**limit);
  *out->mutable_period() = ProtoDuration(**period);
  out->set_burst(burst->value_or(0));
  return request;
}

absl::StatusOr<ExitCode> Check(Cli& cli, const Args& args) {
  auto request = CheckOf(cli, args);
  if (!request.ok()) return request.status();
  auto cost = args.GetUint("cost");
  if (!cost.ok()) return cost.status();
  if (cost->has_value()) request->set_cost(**cost);
  auto response = Call(cli, &v1::RateLimiterService::Stub::Check, *request, "Check");
  if (!response.ok()) return response.status();
  if (cli.json()) {
    cli.PrintMessage(*response);
  } else {
    Table table({"outcome", "limit", "remaining", "reset_after", "retry_after"});
    table.AddRow({v1::Outcome_Name(response->outcome()), absl::StrCat(response->limit()),
                  absl::StrCat(response->remaining()), FormatDuration(response->reset_after()),
                  FormatDuration(response->retry_after())});
    table.Print(cli.out());
  }
  return response->outcome() == v1::OUTCOME_ALLOWED ? ExitCode::kOk : ExitCode::kDenied;
}

absl::StatusOr<ExitCode> Reset(Cli& cli, const Args& args) {
  auto check = CheckOf(cli, args);
  if (!check.ok()) return check.status();
  v1::ResetRequest request;
  request.set_namespace_(check->namespace_());
  request.set_key(check->key());
  request.set_policy(check->policy());
  *request.mutable_limits() = check->limits();
  auto response = Call(cli, &v1::RateLimiterService::Stub::Reset, request, "Reset");
  if (!response.ok()) return response.status();
  if (cli.json()) {
    cli.PrintMessage(*response);
  } else {
    cli.out() << "reset\n";
  }
  return ExitCode::kOk;
}

}  // namespace

std::vector<Command> RateLimitCommands() {
  std::vector<OptionSpec> check_options = LimitOptions();
  check_options.push_back({"cost", true, false, "N the request takes (default 1; 0 only looks)"});
  return {
      {"ratelimit", "check", "KEY",
       "check and take from a key's limits (exit status 3 when not allowed)", check_options, Check},
      {"ratelimit", "reset", "KEY", "forget a key's state under a policy or limit", LimitOptions(),
       Reset},
  };
}

}  // namespace hotpath::cli
