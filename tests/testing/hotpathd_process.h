// HotpathdProcess: runs the real hotpathd binary for end-to-end tests.
//
// Start() spawns it with the given flags and waits until it logs event=serving (then
// grpc_address()/metrics_address() hold the bound ports) or exits. Waits are bounded and event
// driven (see tools/common/subprocess.h). The destructor kills a process that is still running.
// Every hotpathd run is checked for a sanitizer report (the ASan+UBSan and TSan suites run an
// instrumented hotpathd) when it is done with: at the destructor, at a restart with Start(), and
// at WaitForExit() (where a graceful exit's leak report shows). A race or memory error in the
// server fails the test that provoked it, even when every RPC was answered.
// Header-only: tests include it; HOTPATHD_PATH comes from the test target (tests/CMakeLists.txt).
#pragma once

#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tools/common/subprocess.h"

namespace hotpath::testing {

// The path of the hotpathd binary under test (set by CMake).
std::string HotpathdPath();

// A fresh empty directory under the test's temporary directory.
std::string MakeTempDir(const std::string& name);

struct ExitResult {
  int exit_code = -1;  // -1 if killed by a signal
  std::string stdout_text;
  std::string stderr_text;
};

class HotpathdProcess {
 public:
  HotpathdProcess() = default;
  HotpathdProcess(const HotpathdProcess&) = delete;
  HotpathdProcess& operator=(const HotpathdProcess&) = delete;
  ~HotpathdProcess() { Finish(); }

  // Spawns hotpathd with `args` and waits until it serves. Returns false (the output is in
  // last_output()) if it exited first or did not serve within `timeout`.
  bool Start(const std::vector<std::string>& args, absl::Duration timeout = absl::Seconds(30));

  // Spawns hotpathd and waits for it to exit, for runs expected not to serve.
  static std::optional<ExitResult> RunToExit(const std::vector<std::string>& args,
                                             absl::Duration timeout = absl::Seconds(30));

  void Signal(int signal_number) { process_->Signal(signal_number); }
  // Waits until stdout contains `text`; false if the process exits or `timeout` passes first.
  bool WaitForOutput(absl::string_view text, absl::Duration timeout = absl::Seconds(30)) {
    return process_->WaitForOutput(text, timeout);
  }
  // Waits for exit; nullopt on timeout.
  std::optional<ExitResult> WaitForExit(absl::Duration timeout);

  pid_t pid() const { return process_->pid(); }
  const std::string& grpc_address() const { return grpc_address_; }
  const std::string& metrics_address() const { return metrics_address_; }
  std::string last_output() const;

 private:
  // Kills the process if it still runs, then fails the test if it printed a sanitizer report.
  void Finish();

  std::unique_ptr<Subprocess> process_;
  std::string grpc_address_;
  std::string metrics_address_;
};

// --- Implementation.

// The value of `key` in the first log line of `text` for `event` (services/common/log.h,
// logfmt), e.g. ("serving", "grpc") -> "127.0.0.1:4000"; empty if there is none. Values here
// are bare (no spaces), so no unquoting is needed.
inline std::string LogValue(const std::string& text, absl::string_view event,
                            absl::string_view key) {
  const std::string marker = absl::StrCat(" event=", event, " ");
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!absl::StrContains(line, marker)) continue;
    for (absl::string_view field : absl::StrSplit(line, ' ')) {
      if (absl::ConsumePrefix(&field, absl::StrCat(key, "="))) return std::string(field);
    }
  }
  return "";
}

inline std::string HotpathdPath() { return HOTPATHD_PATH; }

// Whether `text` holds a report of ASan, LSan, UBSan or TSan.
inline bool HasSanitizerReport(absl::string_view text) {
  for (absl::string_view marker : {"ERROR: AddressSanitizer:", "ERROR: LeakSanitizer:",
                                   ": runtime error: ", "WARNING: ThreadSanitizer:"}) {
    if (absl::StrContains(text, marker)) return true;
  }
  return false;
}

inline std::string MakeTempDir(const std::string& name) {
  const std::string path =
      std::filesystem::path(absl::StrCat(::testing::TempDir(), "/hotpath_", getpid(), "_", name))
          .lexically_normal()
          .string();
  std::filesystem::remove_all(path);
  std::filesystem::create_directories(path);
  return path;
}

inline bool HotpathdProcess::Start(const std::vector<std::string>& args, absl::Duration timeout) {
  Finish();  // a restart: the previous run is checked first
  std::vector<std::string> argv = {HotpathdPath()};
  argv.insert(argv.end(), args.begin(), args.end());
  auto process = Subprocess::Spawn(argv);
  if (!process.ok()) return false;
  process_ = *std::move(process);
  // The line arrives whole: one write of less than PIPE_BUF bytes.
  if (!process_->WaitForOutput(" event=serving ", timeout)) return false;
  grpc_address_ = LogValue(process_->stdout_text(), "serving", "grpc");
  const std::string metrics_url = LogValue(process_->stdout_text(), "serving", "metrics");
  absl::string_view metrics = metrics_url;
  absl::ConsumePrefix(&metrics, "http://");
  metrics_address_ = std::string(metrics.substr(0, metrics.find('/')));
  return !grpc_address_.empty() && !metrics_address_.empty();
}

inline void HotpathdProcess::Finish() {
  if (process_ == nullptr) return;
  // SIGKILL, not SIGTERM: a race or memory error is reported when it happens, and a graceful
  // drain would only slow every test down (tests that stop hotpathd gracefully get the exit's
  // leak report through WaitForExit).
  process_->Signal(SIGKILL);
  process_->Wait(absl::Seconds(30));
  EXPECT_FALSE(HasSanitizerReport(process_->stderr_text())) << process_->stderr_text();
  process_.reset();
}

inline std::string HotpathdProcess::last_output() const {
  if (process_ == nullptr) return "hotpathd could not be spawned";
  return process_->stdout_text() + process_->stderr_text();
}

inline std::optional<ExitResult> HotpathdProcess::RunToExit(const std::vector<std::string>& args,
                                                            absl::Duration timeout) {
  HotpathdProcess process;
  std::vector<std::string> argv = {HotpathdPath()};
  argv.insert(argv.end(), args.begin(), args.end());
  auto spawned = Subprocess::Spawn(argv);
  if (!spawned.ok()) return std::nullopt;
  process.process_ = *std::move(spawned);
  return process.WaitForExit(timeout);
}

inline std::optional<ExitResult> HotpathdProcess::WaitForExit(absl::Duration timeout) {
  std::optional<int> code = process_->Wait(timeout);
  if (!code.has_value()) return std::nullopt;
  EXPECT_FALSE(HasSanitizerReport(process_->stderr_text())) << process_->stderr_text();
  return ExitResult{*code, process_->stdout_text(), process_->stderr_text()};
}

}  // namespace hotpath::testing
