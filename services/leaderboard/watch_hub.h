// WatchHub: the streams of LeaderboardService/Watch. Each watcher follows one board's top N or
// one member; when the board changes, the hub reads the new state and sends it if its entries
// or season differ from what the watcher last got. Buffering is PushStreams': at most one
// message in flight per watcher, changes meanwhile folded into the next read.
//
// Thread safety: every method may be called from any thread. Stop() before destruction ends
// every stream; gRPC must have finished with every watcher (the server stopped) before the hub
// is destroyed.
#pragma once

#include <cstddef>
#include <string>

#include "hotpath/leaderboard/v1/leaderboard.pb.h"
#include "services/common/push_streams.h"
#include "services/leaderboard/board_store.h"

namespace hotpath::leaderboard {

class WatchHub {
 public:
  // `store` must outlive the hub.
  explicit WatchHub(BoardStore* store) : store_(store) {}

  void Start() { streams_.Start("hp-lb-watch"); }
  // Ends every stream with UNAVAILABLE; streams opened later end at once.
  void Stop() { streams_.Stop(); }

  // A new stream for a validated request (`top` in range, or a member).
  grpc::ServerWriteReactor<v1::WatchResponse>* Open(std::string ns,
                                                    const v1::WatchRequest& request);
  // The board changed: its watchers re-read it.
  void Changed(const std::string& ns, const std::string& board);
  size_t watchers() const { return streams_.size(); }

 private:
  BoardStore* const store_;
  PushStreams<v1::WatchResponse> streams_;
};

}  // namespace hotpath::leaderboard
