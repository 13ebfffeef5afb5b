#include "tools/common/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

extern char** environ;

namespace hotpath {
namespace {

int PollMillis(absl::Time deadline) {
  const int64_t ms = absl::ToInt64Milliseconds(deadline - absl::Now());
  return static_cast<int>(std::clamp<int64_t>(ms, 0, 1000));
}

// Appends what is readable from `fd` to `out`; closes it and sets -1 at EOF.
void ReadAvailable(int& fd, std::string& out) {
  char buffer[4096];
  const ssize_t n = read(fd, buffer, sizeof(buffer));
  if (n > 0) {
    out.append(buffer, n);
  } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
    close(fd);
    fd = -1;
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<Subprocess>> Subprocess::Spawn(
    const std::vector<std::string>& argv) {
  if (argv.empty()) return absl::InvalidArgumentError("argv must name a program");
  int out[2];
  int err[2];
  if (pipe2(out, O_CLOEXEC) != 0) return absl::InternalError("pipe failed");
  if (pipe2(err, O_CLOEXEC) != 0) {
    close(out[0]);
    close(out[1]);
    return absl::InternalError("pipe failed");
  }
  std::unique_ptr<Subprocess> process(new Subprocess());
  process->stdout_fd_ = out[0];
  process->stderr_fd_ = err[0];
  fcntl(out[0], F_SETFL, O_NONBLOCK);
  fcntl(err[0], F_SETFL, O_NONBLOCK);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err[1], STDERR_FILENO);
  std::vector<std::string> storage = argv;
  std::vector<char*> args;
  for (std::string& arg : storage) args.push_back(arg.data());
  args.push_back(nullptr);
  const int spawned = posix_spawn(&process->pid_, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(out[1]);
  close(err[1]);
  if (spawned != 0) {
    process->pid_ = -1;
    return absl::InternalError(absl::StrCat("cannot run ", argv[0], ": ", std::strerror(spawned)));
  }
  process->pidfd_ = static_cast<int>(syscall(SYS_pidfd_open, process->pid_, 0));
  if (process->pidfd_ < 0) return absl::InternalError("pidfd_open failed");
  return process;
}

Subprocess::~Subprocess() {
  if (pid_ > 0 && !exited_) {
    kill(pid_, SIGKILL);
    waitpid(pid_, &status_, 0);
  }
  for (int fd : {pidfd_, stdout_fd_, stderr_fd_}) {
    if (fd >= 0) close(fd);
  }
}

template <typename Done>
void Subprocess::Pump(absl::Time deadline, Done done) {
  while (!done() && absl::Now() < deadline) {
    pollfd fds[3];
    nfds_t n = 0;
    for (int fd : {stdout_fd_, stderr_fd_}) {
      if (fd >= 0) fds[n++] = {fd, POLLIN, 0};
    }
    if (!exited_) fds[n++] = {pidfd_, POLLIN, 0};
    if (n == 0) return;
    if (poll(fds, n, PollMillis(deadline)) < 0 && errno != EINTR) return;
    if (stdout_fd_ >= 0) ReadAvailable(stdout_fd_, stdout_);
    if (stderr_fd_ >= 0) ReadAvailable(stderr_fd_, stderr_);
    if (!exited_ && waitpid(pid_, &status_, WNOHANG) == pid_) exited_ = true;
  }
}

bool Subprocess::WaitForOutput(absl::string_view text, absl::Duration timeout) {
  Pump(absl::Now() + timeout, [&] { return exited_ || absl::StrContains(stdout_, text); });
  return absl::StrContains(stdout_, text);
}

void Subprocess::Signal(int signal_number) {
  if (pid_ > 0 && !exited_) kill(pid_, signal_number);
}

std::optional<int> Subprocess::Wait(absl::Duration timeout) {
  Pump(absl::Now() + timeout,
       [&] { return exited_ && stdout_fd_ < 0 && stderr_fd_ < 0; });
  if (!exited_) return std::nullopt;
  return WIFEXITED(status_) ? WEXITSTATUS(status_) : -1;
}

}  // namespace hotpath
