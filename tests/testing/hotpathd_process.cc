#include "tests/testing/hotpathd_process.h"

#include <unistd.h>

#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"

namespace hotpath::testing {
namespace {

// The value after "<prefix>" on its own line of `text`, e.g. "grpc: " -> "127.0.0.1:4000".
std::string LineValue(const std::string& text, absl::string_view prefix) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::StartsWith(line, prefix)) return std::string(line.substr(prefix.size()));
  }
  return "";
}

}  // namespace

std::string HotpathdPath() { return HOTPATHD_PATH; }

std::string MakeTempDir(const std::string& name) {
  const std::string path =
      std::filesystem::path(absl::StrCat(::testing::TempDir(), "/hotpath_", getpid(), "_", name))
          .lexically_normal()
          .string();
  std::filesystem::remove_all(path);
  std::filesystem::create_directories(path);
  return path;
}

bool HotpathdProcess::Start(const std::vector<std::string>& args, absl::Duration timeout) {
  std::vector<std::string> argv = {HotpathdPath()};
  argv.insert(argv.end(), args.begin(), args.end());
  auto process = Subprocess::Spawn(argv);
  if (!process.ok()) return false;
  process_ = *std::move(process);
  if (!process_->WaitForOutput("\nserving\n", timeout)) return false;
  grpc_address_ = LineValue(process_->stdout_text(), "grpc: ");
  const std::string metrics_url = LineValue(process_->stdout_text(), "metrics: http://");
  metrics_address_ = metrics_url.substr(0, metrics_url.find('/'));
  return !grpc_address_.empty() && !metrics_address_.empty();
}

std::string HotpathdProcess::last_output() const {
  if (process_ == nullptr) return "hotpathd could not be spawned";
  return process_->stdout_text() + process_->stderr_text();
}

std::optional<ExitResult> HotpathdProcess::RunToExit(const std::vector<std::string>& args,
                                                     absl::Duration timeout) {
  HotpathdProcess process;
  std::vector<std::string> argv = {HotpathdPath()};
  argv.insert(argv.end(), args.begin(), args.end());
  auto spawned = Subprocess::Spawn(argv);
  if (!spawned.ok()) return std::nullopt;
  process.process_ = *std::move(spawned);
  return process.WaitForExit(timeout);
}

std::optional<ExitResult> HotpathdProcess::WaitForExit(absl::Duration timeout) {
  std::optional<int> code = process_->Wait(timeout);
  if (!code.has_value()) return std::nullopt;
  return ExitResult{*code, process_->stdout_text(), process_->stderr_text()};
}

}  // namespace hotpath::testing
