// HotpathdProcess: runs the real hotpathd binary for end-to-end tests.
//
// Start() spawns it with the given flags and waits until it prints "serving" (then
// grpc_address()/metrics_address() hold the bound ports) or exits. Waits are bounded and event
// driven (see tools/common/subprocess.h). The destructor kills a process that is still running.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
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
  // Spawns hotpathd with `args` and waits until it serves. Returns false (the output is in
  // last_output()) if it exited first or did not serve within `timeout`.
  bool Start(const std::vector<std::string>& args, absl::Duration timeout = absl::Seconds(30));

  // Spawns hotpathd and waits for it to exit, for runs expected not to serve.
  static std::optional<ExitResult> RunToExit(const std::vector<std::string>& args,
                                             absl::Duration timeout = absl::Seconds(30));

  void Signal(int signal_number) { process_->Signal(signal_number); }
  // Waits for exit; nullopt on timeout.
  std::optional<ExitResult> WaitForExit(absl::Duration timeout);

  const std::string& grpc_address() const { return grpc_address_; }
  const std::string& metrics_address() const { return metrics_address_; }
  std::string last_output() const;

 private:
  std::unique_ptr<Subprocess> process_;
  std::string grpc_address_;
  std::string metrics_address_;
};

}  // namespace hotpath::testing
