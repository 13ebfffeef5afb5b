#include "persistence/data_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace hotpath {
namespace {

absl::Status ErrnoError(int error, const char* what, const std::string& path) {
  std::string message = absl::StrCat(what, " ", path, ": ", std::strerror(error));
  if (error == EACCES || error == EPERM || error == EROFS) {
    return absl::PermissionDeniedError(message);
  }
  return absl::InternalError(message);
}

std::string ReadOwner(int fd) {
  char buffer[32] = {};
  const ssize_t n = pread(fd, buffer, sizeof(buffer) - 1, 0);
  if (n <= 0) return "unknown";
  return std::string(absl::StripAsciiWhitespace(absl::string_view(buffer, n)));
}

}  // namespace

absl::StatusOr<std::unique_ptr<DataDir>> DataDir::Open(const std::string& path) {
  std::error_code error;
  std::filesystem::create_directories(path, error);
  if (error) return ErrnoError(error.value(), "cannot create data directory", path);
  std::string absolute = std::filesystem::absolute(path, error).lexically_normal().string();
  if (error) absolute = path;
  if (absolute.size() > 1 && absolute.back() == '/') absolute.pop_back();

  const std::string lock_path = absolute + "/LOCK";
  const int fd = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError(errno, "cannot open", lock_path);
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int lock_errno = errno;
    const std::string owner = ReadOwner(fd);
    close(fd);
    if (lock_errno == EWOULDBLOCK) {
      return absl::FailedPreconditionError(absl::StrCat(
          "data directory ", absolute, " is in use by another process (pid ", owner, ")"));
    }
    return ErrnoError(lock_errno, "cannot lock", lock_path);
  }
  const std::string pid = absl::StrCat(getpid(), "\n");
  if (ftruncate(fd, 0) != 0 ||
      pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    const int write_errno = errno;
    close(fd);
    return ErrnoError(write_errno, "cannot write", lock_path);
  }
  return std::unique_ptr<DataDir>(new DataDir(std::move(absolute), fd));
}

DataDir::~DataDir() { close(lock_fd_); }

}  // namespace hotpath
