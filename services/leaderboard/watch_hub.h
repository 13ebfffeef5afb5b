// WatchHub: the streams of LeaderboardService/Watch. Each watcher follows one board's top N or
// one member; when the board changes, the hub's thread reads the new state and sends it if it
// differs from what the watcher last got.
//
// Bounded buffering: a watcher has at most one message in flight. Changes that come while it
// is being written are folded into one re-read when the write completes, so a slow reader
// gets the latest state, never a backlog, and costs one message of memory.
//
// Thread safety: every method may be called from any thread. Stop() before destruction ends
// every stream; gRPC must have finished with every watcher (the server stopped) before the hub
// is destroyed.
#pragma once

#include <cstddef>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/support/server_callback.h"
#include "hotpath/leaderboard/v1/leaderboard.pb.h"
#include "services/leaderboard/board_store.h"

namespace hotpath::leaderboard {

class WatchHub {
 public:
  // `store` must outlive the hub.
  explicit WatchHub(BoardStore* store) : store_(store) {}
  WatchHub(const WatchHub&) = delete;
  WatchHub& operator=(const WatchHub&) = delete;
  ~WatchHub() { Stop(); }

  void Start();
  // Ends every stream with UNAVAILABLE and stops the thread; streams opened later end at once.
  void Stop();

  // A new stream for a validated request (`top` in range, or a member).
  grpc::ServerWriteReactor<v1::WatchUpdate>* Open(std::string ns, const v1::WatchRequest& request);
  // The board changed: its watchers re-read it.
  void Changed(const std::string& ns, const std::string& board);
  size_t watchers() const;

 private:
  class Watcher;
  enum class Action { kNone, kWrite, kFinish };

  // What `watcher` should do now that nothing is being read or written for it.
  Action NextAction(Watcher* watcher) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Enqueue(Watcher* watcher) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Unregister(Watcher* watcher);
  void Run();
  absl::StatusOr<v1::WatchUpdate> Read(const Watcher& watcher);

  BoardStore* const store_;
  mutable absl::Mutex mu_;
  absl::flat_hash_set<Watcher*> watchers_ ABSL_GUARDED_BY(mu_);
  // The same watchers by board (namespace, board), so a change visits only its own.
  absl::flat_hash_map<std::pair<std::string, std::string>, absl::flat_hash_set<Watcher*>> by_board_
      ABSL_GUARDED_BY(mu_);
  std::vector<Watcher*> queue_ ABSL_GUARDED_BY(mu_);  // to be read by the thread
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace hotpath::leaderboard
