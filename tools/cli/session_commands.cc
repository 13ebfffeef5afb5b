// hotpath session ...: SessionService from the command line.
#include "hotpath/session/v1/session.grpc.pb.h"
#include "tools/cli/cli.h"
#include "tools/cli/format.h"

namespace hotpath::cli {
namespace {

namespace v1 = hotpath::session::v1;

void PrintSessions(Cli& cli, const google::protobuf::RepeatedPtrField<v1::Session>& sessions) {
  Table table({"session_id", "created", "last_seen", "expires", "ip", "user_agent"});
  for (const v1::Session& s : sessions) {
    table.AddRow({s.session_id(), FormatTime(s.created()), FormatTime(s.last_seen()),
                  FormatTime(s.expires()), s.device().ip(), Printable(s.device().user_agent())});
  }
  table.Print(cli.out());
}

absl::StatusOr<ExitCode> Create(Cli& cli, const Args& args) {
  if (auto s = ExpectPositional(args, 1, "USER"); !s.ok()) return s;
  v1::CreateRequest request;
  request.set_namespace_(cli.ns());
  request.set_user_id(args.positional()[0]);
  for (const std::string& text : args.GetAll("attr")) {
    auto pair = SplitPair("attr", text);
    if (!pair.ok()) return pair.status();
    (*request.mutable_attributes())[pair->first] = pair->second;
  }
  for (const std::string& text : args.GetAll("label")) {
    auto pair = SplitPair("label", text);
    if (!pair.ok()) return pair.status();
    (*request.mutable_device()->mutable_labels())[pair->first] = pair->second;
  }
  if (auto ip = args.Get("ip")) request.mutable_device()->set_ip(*ip);
  if (auto agent = args.Get("user-agent")) request.mutable_device()->set_user_agent(*agent);
  auto idle = args.GetDuration("idle");
  if (!idle.ok()) return idle.status();
  if (idle->has_value()) *request.mutable_idle_timeout() = ProtoDuration(**idle);
  auto lifetime = args.GetDuration("lifetime");
  if (!lifetime.ok()) return lifetime.status();
  if (lifetime->has_value()) *request.mutable_absolute_lifetime() = ProtoDuration(**lifetime);

  return CallAndPrint(cli, &v1::SessionService::Stub::Create, request, "Create");
}

absl::StatusOr<ExitCode> Get(Cli& cli, const Args& args) {
  if (auto s = ExpectPositional(args, 1, "TOKEN"); !s.ok()) return s;
  v1::GetRequest request;
  request.set_namespace_(cli.ns());
  request.set_token(ArgOrStdin(args.positional()[0]));
  request.set_no_touch(args.Has("no-touch"));
  return CallAndPrint(cli, &v1::SessionService::Stub::Get, request, "Get");
}

absl::StatusOr<ExitCode> List(Cli& cli, const Args& args) {
  if (auto s = ExpectPositional(args, 1, "USER"); !s.ok()) return s;
  v1::ListUserSessionsRequest request;
  request.set_namespace_(cli.ns());
  request.set_user_id(args.positional()[0]);
  auto response =
      Call(cli, &v1::SessionService::Stub::ListUserSessions, request, "ListUserSessions");
  if (!response.ok()) return response.status();
  if (cli.json()) {
    cli.PrintMessage(*response);
  } else {
    PrintSessions(cli, response->sessions());
  }
  return ExitCode::kOk;
}

absl::StatusOr<ExitCode> Revoke(Cli& cli, const Args& args) {
  if (auto s = ExpectPositional(args, 1, "TOKEN"); !s.ok()) return s;
  v1::RevokeRequest request;
  request.set_namespace_(cli.ns());
  request.set_token(ArgOrStdin(args.positional()[0]));
  auto response = Call(cli, &v1::SessionService::Stub::Revoke, request, "Revoke");
  if (!response.ok()) return response.status();
  if (cli.json()) {
    cli.PrintMessage(*response);
  } else {
    cli.out() << "revoked\n";
  }
  return ExitCode::kOk;
}

absl::StatusOr<ExitCode> RevokeUser(Cli& cli, const Args& args) {
  if (auto s = ExpectPositional(args, 1, "USER"); !s.ok()) return s;
  v1::RevokeUserSessionsRequest request;
  request.set_namespace_(cli.ns());
  request.set_user_id(args.positional()[0]);
  if (auto except = args.Get("except")) request.set_except_token(ArgOrStdin(*except));
  return CallAndPrint(cli, &v1::SessionService::Stub::RevokeUserSessions, request,
                      "RevokeUserSessions");
}

}  // namespace

std::vector<Command> SessionCommands() {
  return {
      {"session",
       "create",
       "USER",
       "start a session; prints its token (shown only here)",
       {{"attr", true, true, "KEY=VALUE attribute (repeatable)"},
        {"idle", true, false, "D: idle timeout (default: the server's)"},
        {"lifetime", true, false, "D: absolute lifetime (default: the server's)"},
        {"ip", true, false, "IP of the client device"},
        {"user-agent", true, false, "UA of the client device"},
        {"label", true, true, "KEY=VALUE device label (repeatable)"}},
       Create},
      {"session",
       "get",
       "TOKEN",
       "show the session behind a token (- reads it from stdin)",
       {{"no-touch", false, false, "do not extend the idle expiry"}},
       Get},
      {"session", "list", "USER", "a user's live sessions, oldest first", {}, List},
      {"session", "revoke", "TOKEN", "end one session (- reads the token from stdin)", {}, Revoke},
      {"session",
       "revoke-user",
       "USER",
       "end every session of a user",
       {{"except", true, false, "TOKEN of the one session to keep"}},
       RevokeUser},
  };
}

}  // namespace hotpath::cli
