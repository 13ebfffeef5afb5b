// hotpath: the command-line client of hotpathd.
//
//   hotpath [options] <group> <command> [arguments] [options]
//
// Exit status: 0 done, 1 the call failed (the server's error is printed), 2 a usage error,
// 3 a rate-limit check that was not allowed. `hotpath --help` lists every command.
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tools/cli/args.h"
#include "tools/cli/cli.h"

namespace hotpath::cli {
namespace {

std::vector<Command> AllCommands() {
  std::vector<Command> all;
  for (auto group :
       {SessionCommands, RateLimitCommands, LeaderboardCommands, PubSubCommands, AdminCommands}) {
    for (Command& command : group()) all.push_back(std::move(command));
  }
  return all;
}

void PrintOptions(std::ostream& out, const std::vector<OptionSpec>& options) {
  for (const OptionSpec& option : options) {
    std::string name = absl::StrCat("  --", option.name);
    if (name.size() < 22) name.resize(22, ' ');
    out << name << " " << option.help << "\n";
  }
}

void PrintUsage(std::ostream& out, const std::vector<Command>& commands) {
  out << "usage: hotpath [options] <group> <command> [arguments] [options]\n\ncommands:\n";
  for (const Command& command : commands) {
    std::string line = absl::StrCat("  ", command.group, " ", command.name, " ", command.args);
    if (line.size() < 40) line.resize(40, ' ');
    out << line << " " << command.summary << "\n";
  }
  out << "\noptions (any command):\n";
  PrintOptions(out, GlobalOptions());
  out << "\n`hotpath <group> <command> --help` shows a command's own options.\n"
         "Exit status: 0 done, 1 the call failed, 2 usage error, 3 rate limit not allowed.\n";
}

void PrintCommandUsage(std::ostream& out, const Command& command) {
  out << "usage: hotpath [options] " << command.group << " " << command.name << " " << command.args
      << "\n  " << command.summary << "\n";
  if (!command.options.empty()) {
    out << "\noptions:\n";
    PrintOptions(out, command.options);
  }
  out << "\nand the options of every command (hotpath --help).\n";
}

int Run(const std::vector<std::string>& argv) {
  const std::vector<Command> commands = AllCommands();
  absl::StatusOr<Args> global = Args::Parse(argv, GlobalOptions(), /*stop_at_positional=*/true);
  if (!global.ok()) {
    std::cerr << "hotpath: " << global.status().message() << "\n";
    PrintUsage(std::cerr, commands);
    return static_cast<int>(ExitCode::kUsage);
  }
  const std::vector<std::string>& rest = global->rest();
  if (global->Has("help")) {
    PrintUsage(std::cout, commands);
    return 0;
  }
  const Command* command = nullptr;
  if (rest.size() >= 2) {
    for (const Command& candidate : commands) {
      if (candidate.group == rest[0] && candidate.name == rest[1]) command = &candidate;
    }
  }
  if (command == nullptr) {
    if (!rest.empty()) {
      std::cerr << "hotpath: no command \"" << rest[0] << (rest.size() > 1 ? " " + rest[1] : "")
                << "\"\n";
    }
    PrintUsage(std::cerr, commands);
    return static_cast<int>(ExitCode::kUsage);
  }

  // The global options before the command, then everything after it, parsed together.
  std::vector<std::string> tokens(argv.begin(), argv.end() - static_cast<ptrdiff_t>(rest.size()));
  tokens.insert(tokens.end(), rest.begin() + 2, rest.end());
  std::vector<OptionSpec> specs = GlobalOptions();
  specs.insert(specs.end(), command->options.begin(), command->options.end());
  absl::StatusOr<Args> args = Args::Parse(tokens, specs);
  if (args.ok() && args->Has("help")) {
    PrintCommandUsage(std::cout, *command);
    return 0;
  }
  absl::StatusOr<std::unique_ptr<Cli>> cli =
      args.ok() ? Cli::Create(*args, std::cout)
                : absl::StatusOr<std::unique_ptr<Cli>>(args.status());
  absl::StatusOr<ExitCode> code = cli.ok() ? command->run(**cli, *args) : cli.status();
  if (code.ok()) return static_cast<int>(*code);
  std::cerr << "hotpath: " << code.status().message() << "\n";
  if (IsUsageError(code.status())) {
    PrintCommandUsage(std::cerr, *command);
    return static_cast<int>(ExitCode::kUsage);
  }
  return static_cast<int>(ExitCode::kError);
}

}  // namespace
}  // namespace hotpath::cli

int main(int argc, char** argv) {
  return hotpath::cli::Run(std::vector<std::string>(argv + 1, argv + argc));
}
