#include "services/server/file_reloader.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "engine/thread_name.h"
#include "services/common/log.h"

namespace hotpath {

std::string FileReloader::Signature(const std::string& path) {
  std::error_code error;
  auto one = [&](const std::filesystem::path& file) {
    const auto size = std::filesystem::file_size(file, error);
    const auto time = std::filesystem::last_write_time(file, error);
    return absl::StrCat(file.string(), ":", error ? 0 : size, ":",
                        error ? 0 : time.time_since_epoch().count(), ";");
  };
  if (std::filesystem::is_directory(path, error)) {
    std::string signature;
    std::filesystem::directory_iterator it(path, error);
    for (; !error && it != std::filesystem::directory_iterator(); it.increment(error)) {
      signature += one(it->path());
    }
    return signature;
  }
  return std::filesystem::exists(path, error) ? one(path) : std::string();
}

template <typename Loaded, typename Apply>
absl::Status FileReloader::ReloadOne(const std::string& path, bool force, Tracked& tracked,
                                     Loaded load, Apply apply) {
  if (path.empty()) return absl::OkStatus();
  const std::string signature = Signature(path);
  // Unchanged since it last loaded, or since it last failed: nothing to do (a broken file is
  // reported once per change, not on every poll).
  if (!force && (signature == tracked.loaded || signature == tracked.failed)) {
    return absl::OkStatus();
  }
  auto loaded = load(path);
  if (!loaded.ok()) {
    tracked.failed = signature;
    return loaded.status();
  }
  apply(*std::move(loaded));
  tracked.loaded = signature;
  tracked.failed.clear();
  return absl::OkStatus();
}

absl::Status FileReloader::Reload(bool force) {
  absl::MutexLock lock(&mu_);
  absl::Status api = ReloadOne(
      files_.policy_file, force, policies_,
      [](const std::string& p) { return ratelimit::PolicySet::Load(p); },
      [this](std::shared_ptr<const ratelimit::PolicySet> set) {
        api_->SetPolicies(std::move(set));
      });
  absl::Status envoy = ReloadOne(
      files_.envoy_config, force, envoy_config_,
      [](const std::string& p) { return ratelimit::EnvoyConfig::Load(p); },
      [this](std::shared_ptr<const ratelimit::EnvoyConfig> config) {
        envoy_->SetConfig(std::move(config));
      });
  absl::Status access = ReloadOne(
      files_.access_file, force, access_,
      [](const std::string& p) { return auth::AccessRules::Load(p); },
      [this](std::shared_ptr<const auth::AccessRules> rules) {
        authorizer_->SetRules(std::move(rules));
      });
  for (const absl::Status& status : {api, envoy}) {
    if (!status.ok()) return status;
  }
  return access;
}

void FileReloader::Start() {
  if (thread_.joinable() ||
      (files_.policy_file.empty() && files_.envoy_config.empty() && files_.access_file.empty())) {
    return;
  }
  thread_ = NamedThread("hp-file-reload", [this] { Loop(); });
}

void FileReloader::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void FileReloader::Loop() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      auto stopping = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; };
      if (mu_.AwaitWithTimeout(absl::Condition(&stopping), poll_)) return;
    }
    const absl::Status reloaded = Reload(/*force=*/false);
    if (!reloaded.ok()) {
      Log(LogLevel::kWarn, "files_not_reloaded",
          {{"trigger", "file change"}, {"error", std::string(reloaded.message())}});
    }
  }
}

}  // namespace hotpath
