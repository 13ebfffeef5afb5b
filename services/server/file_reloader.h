// FileReloader: keeps the files hotpathd reloads in force: the rate limiter's policy files and
// the access file (API keys, identities, quotas). It loads them at start (an error fails the
// start), again on Reload (SIGHUP), and by itself when a file's size or modification time
// changes (checked every `poll`). A file that fails to load is reported and the version in
// force stays; limiter state is never touched.
//
// Thread safety: Reload may run on any thread, concurrently with the polling thread.
#pragma once

#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "services/auth/authorizer.h"
#include "services/ratelimit/envoy_service.h"
#include "services/ratelimit/ratelimit_service.h"

namespace hotpath {

class FileReloader {
 public:
  struct Files {
    std::string policy_file;   // ratelimit.policy_file
    std::string envoy_config;  // ratelimit.envoy_config
    std::string access_file;   // auth.access_file
  };
  // Empty paths are not configured. The services and the authorizer must outlive the reloader.
  FileReloader(Files files, ratelimit::RateLimitService* api,
               ratelimit::EnvoyRateLimitService* envoy, auth::Authorizer* authorizer,
               absl::Duration poll)
      : files_(std::move(files)), api_(api), envoy_(envoy), authorizer_(authorizer), poll_(poll) {}
  ~FileReloader() { Stop(); }

  // Loads the files that changed since they last loaded or failed (every file with `force`,
  // as SIGHUP asks, and the first time). Returns the first error, naming the file.
  absl::Status Reload(bool force);
  // Starts watching the files; Stop ends it. Idempotent.
  void Start();
  void Stop();

 private:
  struct Tracked {
    std::string loaded = "unloaded";  // signature of the version in force
    std::string failed;               // signature of the version that last failed
  };
  template <typename Loaded, typename Apply>
  absl::Status ReloadOne(const std::string& path, bool force, Tracked& tracked, Loaded load,
                         Apply apply) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Loop();
  // Size and modification times of a file, or of a directory's entries; empty if missing.
  static std::string Signature(const std::string& path);

  const Files files_;
  ratelimit::RateLimitService* const api_;
  ratelimit::EnvoyRateLimitService* const envoy_;
  auth::Authorizer* const authorizer_;
  const absl::Duration poll_;
  std::thread thread_;

  absl::Mutex mu_;
  Tracked policies_ ABSL_GUARDED_BY(mu_);
  Tracked envoy_config_ ABSL_GUARDED_BY(mu_);
  Tracked access_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace hotpath
