#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "persistence/file_system.h"

namespace hotpath {
namespace {

absl::Status Error(const char* what, const std::string& path, int error) {
  std::string message = absl::StrCat(what, " ", path, ": ", std::strerror(error));
  if (error == ENOENT) return absl::NotFoundError(message);
  if (error == EACCES || error == EPERM || error == EROFS) {
    return absl::PermissionDeniedError(message);
  }
  if (error == ENOSPC || error == EDQUOT) return absl::ResourceExhaustedError(message);
  return absl::UnavailableError(message);
}

class PosixWritableFile final : public WritableFile {
 public:
  PosixWritableFile(std::string path, int fd, uint64_t size)
      : path_(std::move(path)), fd_(fd), size_(size), zeroed_end_(size) {}
  ~PosixWritableFile() override {
    if (fd_ >= 0) close(fd_);
  }

  absl::Status Append(std::string_view data) override {
    if (zero_ahead_ > 0 && size_ + data.size() > zeroed_end_) {
      // Zeros for the next zero_ahead_ bytes past this append, written before it: the sync
      // that follows carries them, and the appends after it stay inside the file.
      WriteZeros(std::max(zeroed_end_, size_ + data.size()), size_ + data.size() + zero_ahead_);
    }
    while (!data.empty()) {
      const ssize_t n = pwrite(fd_, data.data(), data.size(), static_cast<off_t>(size_));
      if (n < 0) {
        if (errno == EINTR) continue;
        return Error("cannot write", path_, errno);
      }
      data.remove_prefix(static_cast<size_t>(n));
      size_ += static_cast<uint64_t>(n);
    }
    return absl::OkStatus();
  }

  absl::Status Sync() override {
    if (fdatasync(fd_) != 0) return Error("cannot fdatasync", path_, errno);
    return absl::OkStatus();
  }

  absl::Status Truncate(uint64_t size) override {
    if (ftruncate(fd_, static_cast<off_t>(size)) != 0) {
      return Error("cannot truncate", path_, errno);
    }
    size_ = size;
    zeroed_end_ = size;
    return absl::OkStatus();
  }

  // Cuts the zeros kept ahead, durably, so that a clean shutdown leaves no zero tail.
  absl::Status Close() override {
    absl::Status status;
    if (fd_ >= 0 && zeroed_end_ > size_) {
      if (ftruncate(fd_, static_cast<off_t>(size_)) != 0) {
        status = Error("cannot truncate", path_, errno);
      } else if (fdatasync(fd_) != 0) {
        status = Error("cannot fdatasync", path_, errno);
      }
      zeroed_end_ = size_;
    }
    const int fd = fd_;
    fd_ = -1;
    if (fd >= 0 && close(fd) != 0 && status.ok()) status = Error("cannot close", path_, errno);
    return status;
  }

  uint64_t size() const override { return size_; }

  void ZeroAhead(uint64_t bytes) override { zero_ahead_ = bytes; }

 private:
  // Writes zeros over [from, to), as far as the disk lets it. They only make syncs cheaper:
  // a disk that refuses them (full, or a file size limit) fails the data's own write, if any.
  void WriteZeros(uint64_t from, uint64_t to) {
    static const std::string kZeros(64 << 10, '\0');
    while (from < to) {
      const size_t chunk = static_cast<size_t>(std::min<uint64_t>(to - from, kZeros.size()));
      const ssize_t n = pwrite(fd_, kZeros.data(), chunk, static_cast<off_t>(from));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      from += static_cast<uint64_t>(n);
    }
    zeroed_end_ = from;
  }

  const std::string path_;
  int fd_;
  uint64_t size_;            // where the contents end: the next append goes here
  uint64_t zero_ahead_ = 0;  // see ZeroAhead
  uint64_t zeroed_end_;      // zeros are written up to here (no further than size_ if none)
};

class Posix final : public FileSystem {
 public:
  absl::StatusOr<std::unique_ptr<WritableFile>> OpenForAppend(const std::string& path) override {
    const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return Error("cannot open", path, errno);
    struct stat st {};
    if (fstat(fd, &st) != 0) {
      const int error = errno;
      close(fd);
      return Error("cannot stat", path, error);
    }
    return std::make_unique<PosixWritableFile>(path, fd, static_cast<uint64_t>(st.st_size));
  }

  absl::StatusOr<std::string> ReadFile(const std::string& path) override {
    const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Error("cannot open", path, errno);
    std::string data;
    char buffer[1 << 16];
    while (true) {
      const ssize_t n = read(fd, buffer, sizeof(buffer));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        const int error = errno;
        close(fd);
        return Error("cannot read", path, error);
      }
      if (n == 0) break;
      data.append(buffer, static_cast<size_t>(n));
    }
    close(fd);
    return data;
  }

  // The cut is synced: a torn tail cut at recovery must not come back after a power loss.
  absl::Status Truncate(const std::string& path, uint64_t size) override {
    const int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return Error("cannot open", path, errno);
    absl::Status status;
    if (ftruncate(fd, static_cast<off_t>(size)) != 0) {
      status = Error("cannot truncate", path, errno);
    } else if (fdatasync(fd) != 0) {
      status = Error("cannot sync", path, errno);
    }
    close(fd);
    return status;
  }

  absl::Status Rename(const std::string& from, const std::string& to) override {
    if (rename(from.c_str(), to.c_str()) != 0) return Error("cannot rename", from, errno);
    return absl::OkStatus();
  }

  absl::Status Remove(const std::string& path) override {
    if (unlink(path.c_str()) != 0) return Error("cannot remove", path, errno);
    return absl::OkStatus();
  }

  absl::Status SyncDir(const std::string& dir) override {
    const int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return Error("cannot open directory", dir, errno);
    const int result = fsync(fd);
    const int error = errno;
    close(fd);
    if (result != 0) return Error("cannot fsync directory", dir, error);
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<std::string>> List(const std::string& dir) override {
    DIR* handle = opendir(dir.c_str());
    if (handle == nullptr) return Error("cannot list", dir, errno);
    std::vector<std::string> names;
    while (const dirent* entry = readdir(handle)) {
      const std::string name = entry->d_name;
      if (name != "." && name != "..") names.push_back(name);
    }
    closedir(handle);
    std::sort(names.begin(), names.end());
    return names;
  }
};

}  // namespace

FileSystem* PosixFileSystem() {
  static auto* fs = new Posix();
  return fs;
}

}  // namespace hotpath
