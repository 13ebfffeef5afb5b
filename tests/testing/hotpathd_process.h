// HotpathdProcess: runs the real hotpathd binary for end-to-end tests.
//
// Start() spawns it with the given flags and reads its stdout until it prints "serving" (then
// grpc_address()/metrics_address() hold the bound ports) or exits. Every wait is bounded by a
// deadline and woken by the event itself (pipe data, process exit via pidfd), never by sleeping.
// The destructor kills a process that is still running.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"

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
  ~HotpathdProcess();
  HotpathdProcess(const HotpathdProcess&) = delete;
  HotpathdProcess& operator=(const HotpathdProcess&) = delete;

  // Spawns hotpathd with `args` and waits until it serves. Returns false (with the process's
  // output in last_output()) if it exited first or did not serve within `timeout`.
  bool Start(const std::vector<std::string>& args, absl::Duration timeout = absl::Seconds(30));

  // Spawns and waits for exit, for processes expected not to serve.
  static std::optional<ExitResult> RunToExit(const std::vector<std::string>& args,
                                             absl::Duration timeout = absl::Seconds(30));

  void Signal(int signal_number);
  // Waits for exit; nullopt on timeout.
  std::optional<ExitResult> WaitForExit(absl::Duration timeout);

  const std::string& grpc_address() const { return grpc_address_; }
  const std::string& metrics_address() const { return metrics_address_; }
  const std::string& last_output() const { return stdout_; }

 private:
  bool Spawn(const std::vector<std::string>& args);
  // Reads what is available from both pipes until `done` holds, the process exits, or timeout.
  void Pump(absl::Time deadline, bool until_exit);

  pid_t pid_ = -1;
  int pidfd_ = -1;
  int stdout_fd_ = -1;
  int stderr_fd_ = -1;
  bool exited_ = false;
  int status_ = 0;
  std::string stdout_;
  std::string stderr_;
  std::string grpc_address_;
  std::string metrics_address_;
};

// GET http://<address><path> over loopback; returns the body, or nullopt on failure/timeout.
std::optional<std::string> HttpGet(const std::string& address, const std::string& path,
                                   absl::Duration timeout = absl::Seconds(10));

}  // namespace hotpath::testing
