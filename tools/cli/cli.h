// Cli: what every `hotpath` command needs: the channel to hotpathd (target, TLS, API key),
// contexts for its calls, the namespace, and the output mode; and Command, one subcommand.
//
// Global options (before or after the command):
//   --target HOST:PORT   hotpathd's gRPC address (env HOTPATH_TARGET; default 127.0.0.1:7070)
//   --tls, --ca-file, --cert-file, --key-file, --server-name   TLS and mTLS (docs/security.md)
//   --api-key KEY        sent as "authorization: Bearer KEY" (env HOTPATH_API_KEY)
//   --namespace NS       the tenant (default "default")
//   --timeout D          deadline of each call (default 10s; see CallKind)
//   --json               protobuf JSON instead of tables
//
// Thread safety: none; the CLI is single-threaded.
#pragma once

#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/message.h"
#include "grpcpp/grpcpp.h"
#include "tools/cli/args.h"

namespace hotpath::cli {

// The options every command accepts.
const std::vector<OptionSpec>& GlobalOptions();

class Cli {
 public:
  // Reads the global options from `args` (and the environment). InvalidArgument (a usage
  // error) for a malformed option, or a TLS file that cannot be read, named.
  static absl::StatusOr<std::unique_ptr<Cli>> Create(const Args& args, std::ostream& out);

  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  // How long a call may take: kUnary gets the --timeout deadline (10 s by default); kSlow
  // (a rewrite, which answers when done) only a --timeout given explicitly; kStream none (it
  // runs until its own end or Ctrl-C).
  enum class CallKind { kUnary, kSlow, kStream };
  // A context for one call, carrying the API key and the deadline of its kind.
  std::unique_ptr<grpc::ClientContext> NewContext(CallKind kind = CallKind::kUnary) const;

  const std::string& ns() const { return namespace_; }
  bool json() const { return json_; }
  std::ostream& out() { return out_; }

  // Prints a whole answer: JSON with --json, else every field as a FIELD/VALUE table.
  void PrintMessage(const google::protobuf::Message& message);

 private:
  Cli(std::shared_ptr<grpc::Channel> channel, std::string api_key, std::string ns,
      std::optional<absl::Duration> timeout, bool json, std::ostream& out)
      : channel_(std::move(channel)),
        api_key_(std::move(api_key)),
        namespace_(std::move(ns)),
        timeout_(timeout),
        json_(json),
        out_(out) {}

  std::shared_ptr<grpc::Channel> channel_;
  std::string api_key_;
  std::string namespace_;
  std::optional<absl::Duration> timeout_;  // --timeout, when given
  bool json_;
  std::ostream& out_;
};

// What a command reports besides its output. kDenied: a rate-limit check that did not pass.
enum class ExitCode { kOk = 0, kError = 1, kUsage = 2, kDenied = 3 };

// The server's answer as a Status whose message names the method and code
// ("Get: NOT_FOUND: ...").
absl::Status FromGrpc(const grpc::Status& status, const std::string& method);

// One unary call on a fresh context of `kind`: `rpc` is a method of a generated stub, e.g.
// &SessionService::Stub::Get; `method` names it in errors (see FromGrpc).
template <typename Stub, typename Request, typename Response>
absl::StatusOr<Response> Call(
    const Cli& cli, grpc::Status (Stub::*rpc)(grpc::ClientContext*, const Request&, Response*),
    const Request& request, const std::string& method, Cli::CallKind kind = Cli::CallKind::kUnary) {
  Stub stub(cli.channel());
  Response response;
  grpc::Status status = (stub.*rpc)(cli.NewContext(kind).get(), request, &response);
  if (!status.ok()) return FromGrpc(status, method);
  return response;
}

// Call, then the whole answer printed (Cli::PrintMessage): the shape of most commands.
template <typename Stub, typename Request, typename Response>
absl::StatusOr<ExitCode> CallAndPrint(
    Cli& cli, grpc::Status (Stub::*rpc)(grpc::ClientContext*, const Request&, Response*),
    const Request& request, const std::string& method, Cli::CallKind kind = Cli::CallKind::kUnary) {
  absl::StatusOr<Response> response = Call(cli, rpc, request, method, kind);
  if (!response.ok()) return response.status();
  cli.PrintMessage(*response);
  return ExitCode::kOk;
}

// Sets `message`'s enum field `field` from --`option` when it is given (see ParseEnum).
absl::Status SetEnumFromOption(const Args& args, const std::string& option,
                               const std::string& field, google::protobuf::Message* message);

struct Command {
  std::string group;    // "session"
  std::string name;     // "create"
  std::string args;     // positional arguments, for usage: "USER"
  std::string summary;  // one line
  std::vector<OptionSpec> options;
  // Runs with the parsed arguments (global and the command's own options).
  std::function<absl::StatusOr<ExitCode>(Cli&, const Args&)> run;
};

// Each service's commands (session_commands.cc, ...).
std::vector<Command> SessionCommands();
std::vector<Command> RateLimitCommands();
std::vector<Command> LeaderboardCommands();
std::vector<Command> PubSubCommands();
std::vector<Command> AdminCommands();

// Checks that `args` holds exactly `count` positional arguments; a usage error otherwise.
absl::Status ExpectPositional(const Args& args, size_t count, const std::string& usage);
// The enum value `text` names, case-insensitive, without the enum's prefix and with '-' for
// '_' ("descending" for SORT_ORDER_DESCENDING). A usage error listing the choices otherwise;
// the UNSPECIFIED value is not a choice.
absl::StatusOr<int> ParseEnum(const google::protobuf::EnumDescriptor* type,
                              const std::string& option, const std::string& text);
google::protobuf::Duration ProtoDuration(absl::Duration duration);
// An argument that may be "-": then one line read from stdin (so a session token need not
// appear in the process list or the shell history).
std::string ArgOrStdin(const std::string& arg);

}  // namespace hotpath::cli
