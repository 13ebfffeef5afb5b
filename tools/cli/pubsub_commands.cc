// hotpath pubsub ...: PubSubService from the command line.
#include <iostream>
#include <map>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "hotpath/pubsub/v1/pubsub.grpc.pb.h"
#include "tools/cli/cli.h"
#include "tools/cli/format.h"

namespace hotpath::cli {
namespace {

namespace v1 = hotpath::pubsub::v1;

absl::StatusOr<ExitCode> Publish(Cli& cli, const Args& args) {
  if (auto s = ExpectPositional(args, 2, "TOPIC PAYLOAD"); !s.ok()) return s;
  v1::PublishRequest request;
  request.set_namespace_(cli.ns());
  request.set_topic(args.positional()[0]);
  v1::OutgoingMessage* message = request.mutable_message();
  if (args.positional()[1] == "-") {
    std::ostringstream payload;
    payload << std::cin.rdbuf();
    message->set_payload(payload.str());
  } else {
    message->set_payload(args.positional()[1]);
  }
  for (const std::string& text : args.GetAll("header")) {
    auto pair = SplitPair("header", text);
    if (!pair.ok()) return pair.status();
    (*message->mutable_headers())[pair->first] = pair->second;
  }
  message->set_idempotency_key(args.GetOr("idempotency-key", ""));
  return CallAndPrint(cli, &v1::PubSubService::Stub::Publish, request, "Publish");
}

// Where a tail starts: "latest" (default), "earliest", or the ID to resume after.
absl::Status SetStart(const std::string& from, v1::SubscribeRequest* request) {
  if (from == "latest") {
    request->set_latest(true);
  } else if (from == "earliest") {
    request->set_earliest(true);
  } else if (from.find('-') != std::string::npos) {
    request->set_after_id(from);
  } else {
    return UsageError(
        absl::StrCat("--from must be latest, earliest or a message ID, not \"", from, "\""));
  }
  return absl::OkStatus();
}

void PrintMessageLine(Cli& cli, const v1::Message& message) {
  if (cli.json()) {
    cli.out() << ToJson(message) << "\n";
  } else {
    // Sorted, so the same message always prints the same line.
    const std::map<std::string, std::string> sorted(message.headers().begin(),
                                                    message.headers().end());
    cli.out() << message.id() << "  " << message.topic() << "  " << Printable(message.payload());
    if (!sorted.empty()) {
      cli.out() << "  " << absl::StrJoin(sorted, ",", [](std::string* out, const auto& header) {
        absl::StrAppend(out, Printable(header.first), "=", Printable(header.second));
      });
    }
    cli.out() << "\n";
  }
  cli.out().flush();
}

absl::StatusOr<ExitCode> Tail(Cli& cli, const Args& args) {
  v1::SubscribeRequest request;
  request.set_namespace_(cli.ns());
  if (auto pattern = args.Get("pattern")) {
    if (auto s = ExpectPositional(args, 0, "no TOPIC with --pattern"); !s.ok()) return s;
    request.set_pattern(*pattern);
  } else {
    if (auto s = ExpectPositional(args, 1, "TOPIC (or --pattern)"); !s.ok()) return s;
    request.set_topic(args.positional()[0]);
  }
  if (absl::Status s = SetStart(args.GetOr("from", "latest"), &request); !s.ok()) return s;
  auto count = args.GetUint("count");
  if (!count.ok()) return count.status();

  auto stub = v1::PubSubService::NewStub(cli.channel());
  std::unique_ptr<grpc::ClientContext> context = cli.NewContext(Cli::CallKind::kStream);
  std::unique_ptr<grpc::ClientReader<v1::SubscribeResponse>> reader =
      stub->Subscribe(context.get(), request);
  uint64_t seen = 0;
  v1::SubscribeResponse response;
  while ((!count->has_value() || seen < **count) && reader->Read(&response)) {
    for (const v1::Message& message : response.messages()) {
      PrintMessageLine(cli, message);
      if (count->has_value() && ++seen == **count) break;
    }
  }
  if (count->has_value() && seen == **count) {
    context->TryCancel();
    reader->Finish();  // CANCELLED: we ended it
    return ExitCode::kOk;
  }
  grpc::Status status = reader->Finish();
  if (!status.ok()) return FromGrpc(status, "Subscribe");
  return ExitCode::kOk;
}

absl::StatusOr<ExitCode> Topics(Cli& cli, const Args& args) {
  if (auto s = ExpectPositional(args, 0, ""); !s.ok()) return s;
  v1::ListTopicsRequest request;
  request.set_namespace_(cli.ns());
  auto response = Call(cli, &v1::PubSubService::Stub::ListTopics, request, "ListTopics");
  if (!response.ok()) return response.status();
  if (cli.json()) {
    cli.PrintMessage(*response);
    return ExitCode::kOk;
  }
  Table table({"topic", "messages", "first_id", "last_id"});
  for (const v1::Topic& topic : response->topics()) {
    table.AddRow({topic.name(), absl::StrCat(topic.messages()), topic.first_id(), topic.last_id()});
  }
  table.Print(cli.out());
  return ExitCode::kOk;
}

}  // namespace

std::vector<Command> PubSubCommands() {
  return {
      {"pubsub",
       "publish",
       "TOPIC PAYLOAD",
       "publish a message (PAYLOAD - reads all of stdin)",
       {{"header", true, true, "KEY=VALUE header (repeatable)"},
        {"idempotency-key", true, false, "KEY: a repeat within the topic's window is a no-op"}},
       Publish},
      {"pubsub",
       "tail",
       "[TOPIC]",
       "print a topic's messages as they arrive (Ctrl-C ends)",
       {{"pattern", true, false, "PATTERN of topics instead of one, e.g. orders.*"},
        {"from", true, false, "latest (default), earliest, or the message ID to resume after"},
        {"count", true, false, "N: stop after N messages"}},
       Tail},
      {"pubsub", "topics", "", "the namespace's topics", {}, Topics},
  };
}

}  // namespace hotpath::cli
