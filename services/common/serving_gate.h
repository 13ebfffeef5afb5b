// ServingGate: whether hotpathd may serve data calls yet.
//
// gRPC starts before the data directory is loaded, so that health can report NOT_SERVING
// while it loads. Data calls in that window would change the keyspace while the log is being
// replayed into it (and number their records among the replayed ones), so every data handler
// asks the gate first and answers UNAVAILABLE until the server opens it after recovery.
//
// It also holds the memory cap (engine.max_memory) and the namespaces' quotas: calls that add
// data ask CheckRoom, which answers RESOURCE_EXHAUSTED at the cap or the quota. Calls that
// change or remove data go on, so an operator can always free memory; rate-limit checks go on
// too, their state being evicted instead (ExpirySweeperOptions::memory_limit).
//
// Admit is the one admission of a data call, in this order: the call's deadline has not passed
// (DEADLINE_EXCEEDED, the work is not started: the client has given up on it), its credentials
// allow its scope in its namespace (services/auth/authorizer.h), the namespace is not over
// kMaxNamespaceBytes (INVALID_ARGUMENT), then Check or CheckRoom.
//
// Thread safety: Open, Check, CheckRoom, Admit and SetClock may be called from any thread;
// SetMemoryCap and SetAuthorizer before the gate opens.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string_view>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "engine/common/clock.h"
#include "engine/keyspace.h"
#include "grpcpp/server_context.h"
#include "services/auth/authorizer.h"

namespace hotpath {

class ServingGate {
 public:
  // A gate opened at construction serves at once (persistence off, tests).
  explicit ServingGate(bool open = false) : open_(open) {}

  void Open() { open_.store(true, std::memory_order_release); }
  bool open() const { return open_.load(std::memory_order_acquire); }

  // OK once open; UNAVAILABLE (retry later) before.
  absl::Status Check() const {
    if (open()) return absl::OkStatus();
    return absl::UnavailableError("hotpathd is loading its data directory; retry shortly");
  }

  // The keyspace whose memory and namespace usage CheckRoom reads (it must outlive the gate),
  // and the cap; `limit` 0 means none.
  void SetMemoryCap(const Keyspace* keyspace, uint64_t limit) {
    keyspace_ = keyspace;
    limit_ = limit;
  }
  uint64_t memory_limit() const { return limit_; }

  // Null (the default) admits every caller. `authorizer` must outlive the gate.
  void SetAuthorizer(const auth::Authorizer* authorizer) { authorizer_ = authorizer; }
  // The clock call deadlines are compared with; SystemClock by default.
  void SetClock(const Clock* clock) { clock_.store(clock, std::memory_order_release); }

  // DEADLINE_EXCEEDED once `deadline` is not after now.
  absl::Status CheckDeadline(absl::Time deadline) const {
    if (deadline > clock_.load(std::memory_order_acquire)->Now()) return absl::OkStatus();
    return absl::DeadlineExceededError(
        "the call's deadline passed before hotpathd could start it; nothing was done");
  }

  // Check, then RESOURCE_EXHAUSTED while the keyspace holds at least the memory cap, or while
  // namespace `ns` (when given) holds at least its quota of keys or bytes (the access file's
  // namespaces section, services/auth/access_rules.h).
  absl::Status CheckRoom(std::string_view ns = {}) const;

  // See the class comment. `ns` is the call's namespace (empty meaning the default one), or
  // nullopt for a call that names none yet (a stream admitted to its namespace later).
  absl::Status Admit(const grpc::ServerContextBase& context, auth::Scope scope,
                     std::optional<std::string_view> ns, bool grows = false) const;

 private:
  std::atomic<bool> open_;
  const Keyspace* keyspace_ = nullptr;
  uint64_t limit_ = 0;
  const auth::Authorizer* authorizer_ = nullptr;
  std::atomic<const Clock*> clock_{SystemClock::Get()};  // tests may swap it while serving
};

}  // namespace hotpath
