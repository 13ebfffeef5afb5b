#include "tools/cli/cli.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "google/protobuf/util/time_util.h"
#include "tools/cli/format.h"

namespace hotpath::cli {
namespace {

std::string Env(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}

absl::StatusOr<std::string> ReadFile(const std::string& option, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return UsageError(absl::StrCat("--", option, ": cannot read ", path));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> Credentials(const Args& args) {
  const bool tls = args.Has("tls") || args.Has("ca-file") || args.Has("cert-file");
  if (!tls) {
    if (args.Has("key-file") || args.Has("server-name")) {
      return UsageError("--key-file and --server-name need --tls");
    }
    return grpc::InsecureChannelCredentials();
  }
  if (args.Has("cert-file") != args.Has("key-file")) {
    return UsageError("--cert-file and --key-file go together (a client certificate for mTLS)");
  }
  grpc::SslCredentialsOptions options;
  if (auto ca = args.Get("ca-file")) {
    auto pem = ReadFile("ca-file", *ca);
    if (!pem.ok()) return pem.status();
    options.pem_root_certs = *std::move(pem);
  }
  if (auto cert = args.Get("cert-file")) {
    auto cert_pem = ReadFile("cert-file", *cert);
    if (!cert_pem.ok()) return cert_pem.status();
    auto key_pem = ReadFile("key-file", *args.Get("key-file"));
    if (!key_pem.ok()) return key_pem.status();
    options.pem_cert_chain = *std::move(cert_pem);
    options.pem_private_key = *std::move(key_pem);
  }
  return grpc::SslCredentials(options);
}

}  // namespace

const std::vector<OptionSpec>& GlobalOptions() {
  static const auto* options = new std::vector<OptionSpec>{
      {"target", true, false, "HOST:PORT of hotpathd (env HOTPATH_TARGET; 127.0.0.1:7070)"},
      {"tls", false, false, "use TLS (implied by --ca-file and --cert-file)"},
      {"ca-file", true, false, "FILE of PEM CA certificates to trust (default: the system's)"},
      {"cert-file", true, false, "FILE: PEM client certificate, for mTLS"},
      {"key-file", true, false, "FILE: PEM private key of --cert-file"},
      {"server-name", true, false, "NAME the server certificate must carry, if not the host"},
      {"api-key", true, false, "KEY sent as \"authorization: Bearer KEY\" (env HOTPATH_API_KEY)"},
      {"namespace", true, false, "NS: the tenant (default \"default\")"},
      {"timeout", true, false,
       "D: deadline of each call, e.g. 500ms (default 10s; admin snapshot and rewrite wait)"},
      {"json", false, false, "print protobuf JSON (one object per line) instead of tables"},
      {"help", false, false, "show usage"},
  };
  return *options;
}

absl::StatusOr<std::unique_ptr<Cli>> Cli::Create(const Args& args, std::ostream& out) {
  auto timeout = args.GetDuration("timeout");
  if (!timeout.ok()) return timeout.status();
  if (timeout->has_value() && **timeout <= absl::ZeroDuration()) {
    return UsageError("--timeout must be positive");
  }
  auto credentials = Credentials(args);
  if (!credentials.ok()) return credentials.status();
  grpc::ChannelArguments channel_args;
  if (auto name = args.Get("server-name")) {
    channel_args.SetSslTargetNameOverride(*name);
  }
  const std::string target = args.GetOr("target", Env("HOTPATH_TARGET", "127.0.0.1:7070"));
  auto channel = grpc::CreateCustomChannel(target, *credentials, channel_args);
  return std::unique_ptr<Cli>(
      new Cli(std::move(channel), args.GetOr("api-key", Env("HOTPATH_API_KEY", "")),
              args.GetOr("namespace", ""), *timeout, args.Has("json"), out));
}

std::unique_ptr<grpc::ClientContext> Cli::NewContext(CallKind kind) const {
  auto context = std::make_unique<grpc::ClientContext>();
  std::optional<absl::Duration> deadline;
  if (kind == CallKind::kUnary) deadline = timeout_.value_or(absl::Seconds(10));
  if (kind == CallKind::kSlow) deadline = timeout_;
  if (deadline.has_value()) context->set_deadline(absl::ToChronoTime(absl::Now() + *deadline));
  if (!api_key_.empty()) context->AddMetadata("authorization", absl::StrCat("Bearer ", api_key_));
  return context;
}

void Cli::PrintMessage(const google::protobuf::Message& message) {
  if (json_) {
    out_ << ToJson(message) << "\n";
  } else {
    PrintFields(out_, message);
  }
}

absl::Status FromGrpc(const grpc::Status& status, const std::string& method) {
  const auto code = static_cast<absl::StatusCode>(status.error_code());
  return absl::Status(code, absl::StrCat(method, ": ", absl::StatusCodeToString(code), ": ",
                                         status.error_message()));
}

absl::Status ExpectPositional(const Args& args, size_t count, const std::string& usage) {
  if (args.positional().size() == count) return absl::OkStatus();
  return UsageError(usage.empty() ? std::string("expected no arguments")
                                  : absl::StrCat("expected ", usage));
}

absl::StatusOr<int> ParseEnum(const google::protobuf::EnumDescriptor* type,
                              const std::string& option, const std::string& text) {
  const std::string zero = type->FindValueByNumber(0)->name();
  const std::string prefix(absl::StripSuffix(zero, "UNSPECIFIED"));
  std::string name = absl::AsciiStrToUpper(text);
  std::replace(name.begin(), name.end(), '-', '_');
  const auto* value = type->FindValueByName(prefix + name);
  if (value != nullptr && value->number() != 0) return value->number();
  std::vector<std::string> choices;
  for (int i = 0; i < type->value_count(); ++i) {
    if (type->value(i)->number() == 0) continue;
    std::string choice = absl::AsciiStrToLower(absl::StripPrefix(type->value(i)->name(), prefix));
    std::replace(choice.begin(), choice.end(), '_', '-');
    choices.push_back(std::move(choice));
  }
  return UsageError(absl::StrCat("--", option, " must be one of ", absl::StrJoin(choices, ", "),
                                 ", not \"", text, "\""));
}

absl::Status SetEnumFromOption(const Args& args, const std::string& option,
                               const std::string& field, google::protobuf::Message* message) {
  std::optional<std::string> text = args.Get(option);
  if (!text.has_value()) return absl::OkStatus();
  const google::protobuf::FieldDescriptor* descriptor =
      message->GetDescriptor()->FindFieldByName(field);
  absl::StatusOr<int> value = ParseEnum(descriptor->enum_type(), option, *text);
  if (!value.ok()) return value.status();
  message->GetReflection()->SetEnumValue(message, descriptor, *value);
  return absl::OkStatus();
}

google::protobuf::Duration ProtoDuration(absl::Duration duration) {
  return google::protobuf::util::TimeUtil::NanosecondsToDuration(
      absl::ToInt64Nanoseconds(duration));
}

std::string ArgOrStdin(const std::string& arg) {
  if (arg != "-") return arg;
  std::string line;
  std::getline(std::cin, line);
  return std::string(absl::StripAsciiWhitespace(line));
}

}  // namespace hotpath::cli
