// Subprocess: runs another program (hotpathd, redis-server) with its output captured, for tests
// and the load tool.
//
// Every wait is bounded by a timeout and woken by the event itself (pipe data, or the process's
// exit through a pidfd), never by sleeping. The destructor kills a process still running.
//
//   auto redis = Subprocess::Spawn({"/usr/bin/redis-server", "--port", "0"}).value();
//   if (!redis->WaitForOutput("Ready to accept connections", absl::Seconds(10))) ...
//   redis->Signal(SIGTERM);
//   std::optional<int> code = redis->Wait(absl::Seconds(10));
//
// Thread safety: none; one thread owns a Subprocess.
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace hotpath {

class Subprocess {
 public:
  // `argv[0]` is the program's path. Internal error naming the program if it cannot start.
  static absl::StatusOr<std::unique_ptr<Subprocess>> Spawn(const std::vector<std::string>& argv);
  ~Subprocess();
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  // Reads output until stdout contains `text`; false if the process exits or `timeout` passes
  // first.
  bool WaitForOutput(absl::string_view text, absl::Duration timeout);
  void Signal(int signal_number);
  // Waits for exit and reads the rest of the output. Returns the exit code (-1 if a signal
  // ended the process), or nullopt on timeout.
  std::optional<int> Wait(absl::Duration timeout);

  pid_t pid() const { return pid_; }
  bool exited() const { return exited_; }
  const std::string& stdout_text() const { return stdout_; }
  const std::string& stderr_text() const { return stderr_; }

 private:
  Subprocess() = default;
  // Reads what is available until `done()` holds or `deadline` passes.
  template <typename Done>
  void Pump(absl::Time deadline, Done done);

  pid_t pid_ = -1;
  int pidfd_ = -1;
  int stdout_fd_ = -1;
  int stderr_fd_ = -1;
  bool exited_ = false;
  int status_ = 0;
  std::string stdout_;
  std::string stderr_;
};

}  // namespace hotpath
