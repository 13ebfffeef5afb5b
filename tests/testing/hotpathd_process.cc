#include "tests/testing/hotpathd_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

extern char** environ;

namespace hotpath::testing {
namespace {

int MillisUntil(absl::Time deadline) {
  const int64_t ms = absl::ToInt64Milliseconds(deadline - absl::Now());
  return ms < 0 ? 0 : static_cast<int>(std::min<int64_t>(ms, 1000));
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

HotpathdProcess::~HotpathdProcess() {
  if (pid_ > 0 && !exited_) {
    kill(pid_, SIGKILL);
    waitpid(pid_, &status_, 0);
  }
  for (int fd : {pidfd_, stdout_fd_, stderr_fd_}) {
    if (fd >= 0) close(fd);
  }
}

bool HotpathdProcess::Spawn(const std::vector<std::string>& args) {
  int out[2];
  int err[2];
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) return false;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err[1], STDERR_FILENO);
  std::vector<std::string> argv_storage = {HotpathdPath()};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& arg : argv_storage) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const int spawned = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(out[1]);
  close(err[1]);
  stdout_fd_ = out[0];
  stderr_fd_ = err[0];
  fcntl(stdout_fd_, F_SETFL, O_NONBLOCK);
  fcntl(stderr_fd_, F_SETFL, O_NONBLOCK);
  if (spawned != 0) return false;
  pidfd_ = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));
  return pidfd_ >= 0;
}

void HotpathdProcess::Pump(absl::Time deadline, bool until_exit) {
  while (absl::Now() < deadline) {
    if (until_exit ? (exited_ && stdout_fd_ < 0 && stderr_fd_ < 0)
                   : (exited_ || absl::StrContains(stdout_, "\nserving\n"))) {
      return;
    }
    pollfd fds[3];
    nfds_t n = 0;
    for (int fd : {stdout_fd_, stderr_fd_}) {
      if (fd >= 0) fds[n++] = {fd, POLLIN, 0};
    }
    if (!exited_) fds[n++] = {pidfd_, POLLIN, 0};
    if (poll(fds, n, MillisUntil(deadline)) < 0 && errno != EINTR) return;
    if (stdout_fd_ >= 0) ReadAvailable(stdout_fd_, stdout_);
    if (stderr_fd_ >= 0) ReadAvailable(stderr_fd_, stderr_);
    if (!exited_ && waitpid(pid_, &status_, WNOHANG) == pid_) exited_ = true;
  }
}

bool HotpathdProcess::Start(const std::vector<std::string>& args, absl::Duration timeout) {
  if (!Spawn(args)) return false;
  Pump(absl::Now() + timeout, /*until_exit=*/false);
  if (exited_ || !absl::StrContains(stdout_, "\nserving\n")) return false;
  grpc_address_ = LineValue(stdout_, "grpc: ");
  const std::string metrics_url = LineValue(stdout_, "metrics: http://");
  metrics_address_ = metrics_url.substr(0, metrics_url.find('/'));
  return !grpc_address_.empty() && !metrics_address_.empty();
}

std::optional<ExitResult> HotpathdProcess::RunToExit(const std::vector<std::string>& args,
                                                     absl::Duration timeout) {
  HotpathdProcess process;
  if (!process.Spawn(args)) return std::nullopt;
  return process.WaitForExit(timeout);
}

void HotpathdProcess::Signal(int signal_number) {
  if (pid_ > 0 && !exited_) kill(pid_, signal_number);
}

std::optional<ExitResult> HotpathdProcess::WaitForExit(absl::Duration timeout) {
  Pump(absl::Now() + timeout, /*until_exit=*/true);
  if (!exited_) return std::nullopt;
  ExitResult result;
  result.exit_code = WIFEXITED(status_) ? WEXITSTATUS(status_) : -1;
  result.stdout_text = stdout_;
  result.stderr_text = stderr_;
  return result;
}

std::optional<std::string> HttpGet(const std::string& address, const std::string& path,
                                   absl::Duration timeout) {
  const size_t colon = address.rfind(':');
  int port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(address.substr(colon + 1), &port)) {
    return std::nullopt;
  }
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::nullopt;
  const timeval tv = absl::ToTimeval(timeout);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, address.substr(0, colon).c_str(), &addr.sin_addr);
  std::string response;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    const std::string request =
        absl::StrCat("GET ", path, " HTTP/1.0\r\nHost: ", address, "\r\nConnection: close\r\n\r\n");
    if (write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size())) {
      char buffer[8192];
      ssize_t n;
      while ((n = read(fd, buffer, sizeof(buffer))) > 0) response.append(buffer, n);
    }
  }
  close(fd);
  const size_t body = response.find("\r\n\r\n");
  if (!absl::StartsWith(response, "HTTP/1.") ||
      !absl::StrContains(response.substr(0, 16), " 200") || body == std::string::npos) {
    return std::nullopt;
  }
  return response.substr(body + 4);
}

}  // namespace hotpath::testing
