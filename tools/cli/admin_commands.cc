// hotpath admin ...: AdminService from the command line.
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "hotpath/admin/v1/admin.grpc.pb.h"
#include "tools/cli/cli.h"
#include "tools/cli/format.h"

namespace hotpath::cli {
namespace {

namespace v1 = hotpath::admin::v1;

absl::StatusOr<ExitCode> Ping(Cli& cli, const Args& args) {
  if (auto s = ExpectPositional(args, 0, ""); !s.ok()) return s;
  auto stub = v1::AdminService::NewStub(cli.channel());
  v1::PingResponse response;
  const absl::Time start = absl::Now();
  grpc::Status status = stub->Ping(cli.NewContext().get(), v1::PingRequest(), &response);
  const absl::Duration round_trip = absl::Now() - start;
  if (!status.ok()) return FromGrpc(status, "Ping");
  if (cli.json()) {
    cli.PrintMessage(response);
  } else {
    cli.out() << "PONG " << absl::FormatDuration(round_trip) << "\n";
  }
  return ExitCode::kOk;
}

absl::StatusOr<ExitCode> Info(Cli& cli, const Args& args) {
  if (auto s = ExpectPositional(args, 0, ""); !s.ok()) return s;
  return CallAndPrint(cli, &v1::AdminService::Stub::GetInfo, v1::GetInfoRequest(), "GetInfo");
}

// snapshot and rewrite: in the hybrid layout a new base snapshot is a rewrite (the log segments
// it covers are dropped), so both call Rewrite and answer when it is done: however long that
// takes on a large keyspace, unless --timeout says otherwise.
absl::StatusOr<ExitCode> Rewrite(Cli& cli, const Args& args) {
  if (auto s = ExpectPositional(args, 0, ""); !s.ok()) return s;
  return CallAndPrint(cli, &v1::AdminService::Stub::Rewrite, v1::RewriteRequest(), "Rewrite",
                      Cli::CallKind::kSlow);
}

absl::StatusOr<ExitCode> Slowlog(Cli& cli, const Args& args) {
  if (auto s = ExpectPositional(args, 0, ""); !s.ok()) return s;
  v1::GetSlowlogRequest request;
  auto max = args.GetUint32("max");
  if (!max.ok()) return max.status();
  request.set_max_entries(max->value_or(0));
  request.set_reset(args.Has("reset"));
  auto response = Call(cli, &v1::AdminService::Stub::GetSlowlog, request, "GetSlowlog");
  if (!response.ok()) return response.status();
  if (cli.json()) {
    cli.PrintMessage(*response);
    return ExitCode::kOk;
  }
  Table table({"id", "started", "duration", "code", "method"});
  for (const v1::SlowCall& call : response->calls()) {
    table.AddRow({absl::StrCat(call.id()), FormatTime(call.started()),
                  FormatDuration(call.duration()), call.code(), call.method()});
  }
  table.Print(cli.out());
  cli.out() << "threshold " << FormatDuration(response->threshold()) << "; "
            << response->slow_calls_total() << " slow calls since start\n";
  return ExitCode::kOk;
}

absl::StatusOr<ExitCode> Namespace(Cli& cli, const Args& args) {
  if (auto s = ExpectPositional(args, 0, ""); !s.ok()) return s;
  v1::GetNamespaceRequest request;
  request.set_namespace_(cli.ns());
  return CallAndPrint(cli, &v1::AdminService::Stub::GetNamespace, request, "GetNamespace");
}

// For probes and scripts (a Kubernetes exec probe when the port speaks TLS, which the kubelet's
// own gRPC probe cannot): exit status 0 only when the server (or --service) is SERVING.
absl::StatusOr<ExitCode> Health(Cli& cli, const Args& args) {
  if (auto s = ExpectPositional(args, 0, ""); !s.ok()) return s;
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(args.GetOr("service", ""));
  using grpc::health::v1::HealthCheckResponse;
  absl::StatusOr<HealthCheckResponse> answer =
      Call(cli, &grpc::health::v1::Health::Stub::Check, request, "Check");
  if (!answer.ok()) return answer.status();
  if (cli.json()) {
    cli.PrintMessage(*answer);
  } else {
    cli.out() << HealthCheckResponse::ServingStatus_Name(answer->status()) << "\n";
  }
  return answer->status() == HealthCheckResponse::SERVING ? ExitCode::kOk : ExitCode::kError;
}

}  // namespace

std::vector<Command> AdminCommands() {
  return {
      {"admin", "ping", "", "one round trip, timed", {}, Ping},
      {"admin",
       "health",
       "",
       "SERVING or not (exit status 1 unless SERVING), for probes",
       {{"service", true, false, "NAME of one service (default: the whole server)"}},
       Health},
      {"admin", "info", "", "the node: version, keys, memory, persistence", {}, Info},
      {"admin", "snapshot", "", "write a new base snapshot now (the same as rewrite)", {}, Rewrite},
      {"admin", "rewrite", "", "rewrite the log: a new base, older segments dropped", {}, Rewrite},
      {"admin",
       "slowlog",
       "",
       "the slowest recent calls",
       {{"max", true, false, "N entries at most (default: all kept)"},
        {"reset", false, false, "empty the log after reading it"}},
       Slowlog},
      {"admin", "namespace", "", "the --namespace's keys, memory and quota", {}, Namespace},
  };
}

}  // namespace hotpath::cli
