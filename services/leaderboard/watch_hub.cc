#include "services/leaderboard/watch_hub.h"

#include <algorithm>
#include <utility>

#include "services/common/grpc_status.h"

namespace hotpath::leaderboard {

// One Watch stream. Its fields are guarded by the hub's mu_. While busy_ (its state is being
// read by the hub's thread, or a write is in flight) nobody finishes it, so it stays alive
// until that completes; it is deleted in OnDone, which gRPC calls only after Finish.
class WatchHub::Watcher final : public grpc::ServerWriteReactor<v1::WatchUpdate> {
 public:
  Watcher(WatchHub* hub, std::string ns, const v1::WatchRequest& request)
      : hub_(hub),
        ns_(std::move(ns)),
        board_(request.board()),
        top_(request.top()),
        member_(request.member()) {}

  void OnWriteDone(bool ok) override {
    Action action;
    {
      absl::MutexLock lock(&hub_->mu_);
      busy_ = false;
      if (!ok) cancelled_ = true;
      action = hub_->NextAction(this);
    }
    Perform(action);
  }

  void OnCancel() override {
    Action action;
    {
      absl::MutexLock lock(&hub_->mu_);
      cancelled_ = true;
      action = hub_->NextAction(this);
    }
    Perform(action);
  }

  void OnDone() override {
    hub_->Unregister(this);
    delete this;
  }

  void Perform(Action action) {
    if (action == Action::kWrite) StartWrite(&update_);
    if (action == Action::kFinish) Finish(finish_status_);
  }

 private:
  friend class WatchHub;

  WatchHub* const hub_;
  const std::string ns_;
  const std::string board_;
  const uint32_t top_;  // 0 when following a member
  const std::string member_;
  // Guarded by hub_->mu_.
  v1::WatchUpdate update_;  // not touched while a write is in flight
  std::string sent_;        // the last update sent, serialized; empty before the first
  bool sent_any_ = false;
  bool dirty_ = true;  // the board changed since the last read
  bool queued_ = false;
  bool busy_ = false;
  bool cancelled_ = false;
  bool finished_ = false;
  grpc::Status finish_status_;
  // Set by the hub's thread with busy_ held, for NextAction.
  absl::Status read_status_;
  bool have_read_ = false;
};

void WatchHub::Start() {
  absl::MutexLock lock(&mu_);
  if (started_ || stopping_) return;
  started_ = true;
  thread_ = std::thread([this] { Run(); });
}

void WatchHub::Stop() {
  std::vector<std::pair<Watcher*, Action>> actions;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
    for (Watcher* watcher : watchers_) {
      const Action action = NextAction(watcher);
      if (action != Action::kNone) actions.emplace_back(watcher, action);
    }
  }
  for (auto& [watcher, action] : actions) watcher->Perform(action);
  if (thread_.joinable()) thread_.join();
}

size_t WatchHub::watchers() const {
  absl::MutexLock lock(&mu_);
  return watchers_.size();
}

grpc::ServerWriteReactor<v1::WatchUpdate>* WatchHub::Open(std::string ns,
                                                          const v1::WatchRequest& request) {
  auto* watcher = new Watcher(this, std::move(ns), request);
  Action action;
  {
    absl::MutexLock lock(&mu_);
    watchers_.insert(watcher);
    by_board_[{watcher->ns_, watcher->board_}].insert(watcher);
    action = NextAction(watcher);
  }
  watcher->Perform(action);
  return watcher;
}

void WatchHub::Changed(const std::string& ns, const std::string& board) {
  absl::MutexLock lock(&mu_);
  auto it = by_board_.find(std::pair(ns, board));
  if (it == by_board_.end()) return;
  for (Watcher* watcher : it->second) {
    if (watcher->finished_) continue;
    watcher->dirty_ = true;
    if (!watcher->busy_) Enqueue(watcher);
  }
}

void WatchHub::Enqueue(Watcher* watcher) {
  if (watcher->queued_) return;
  watcher->queued_ = true;
  queue_.push_back(watcher);
}

void WatchHub::Unregister(Watcher* watcher) {
  absl::MutexLock lock(&mu_);
  watchers_.erase(watcher);
  auto it = by_board_.find(std::pair(watcher->ns_, watcher->board_));
  if (it != by_board_.end()) {
    it->second.erase(watcher);
    if (it->second.empty()) by_board_.erase(it);
  }
}

WatchHub::Action WatchHub::NextAction(Watcher* watcher) {
  if (watcher->finished_ || watcher->busy_) return Action::kNone;
  const auto finish = [this, watcher](grpc::Status status) ABSL_NO_THREAD_SAFETY_ANALYSIS {
    if (watcher->queued_) {  // it will be gone before the thread would read it
      queue_.erase(std::remove(queue_.begin(), queue_.end(), watcher), queue_.end());
      watcher->queued_ = false;
    }
    watcher->finished_ = true;
    watcher->finish_status_ = std::move(status);
    return Action::kFinish;
  };
  if (watcher->cancelled_) return finish(grpc::Status::CANCELLED);
  if (stopping_) {
    return finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the server is shutting down"));
  }
  if (watcher->have_read_) {
    watcher->have_read_ = false;
    if (!watcher->read_status_.ok()) return finish(ToGrpcStatus(watcher->read_status_));
    // Entries and season only: a total that moved below the top is no news.
    v1::WatchUpdate news = watcher->update_;
    news.clear_total();
    std::string serialized = news.SerializeAsString();
    if (!watcher->sent_any_ || serialized != watcher->sent_) {
      watcher->sent_ = std::move(serialized);
      watcher->sent_any_ = true;
      watcher->busy_ = true;
      return Action::kWrite;
    }
  }
  if (watcher->dirty_) Enqueue(watcher);
  return Action::kNone;
}

absl::StatusOr<v1::WatchUpdate> WatchHub::Read(const Watcher& watcher) {
  absl::StatusOr<Page> page = watcher.top_ != 0
                                  ? store_->Top(watcher.ns_, watcher.board_, 0, watcher.top_, "")
                                  : store_->LiveEntry(watcher.ns_, watcher.board_, watcher.member_);
  if (!page.ok()) return page.status();
  v1::WatchUpdate update;
  for (v1::Entry& entry : page->entries) *update.add_entries() = std::move(entry);
  update.set_season(page->season);
  update.set_total(page->total);
  return update;
}

void WatchHub::Run() {
  while (true) {
    std::vector<Watcher*> batch;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](WatchHub* hub)
               ABSL_NO_THREAD_SAFETY_ANALYSIS { return hub->stopping_ || !hub->queue_.empty(); },
          this));
      if (stopping_) return;
      batch.swap(queue_);
      for (Watcher* watcher : batch) {
        watcher->queued_ = false;
        watcher->dirty_ = false;
        watcher->busy_ = true;
      }
    }
    std::vector<std::pair<Watcher*, absl::StatusOr<v1::WatchUpdate>>> reads;
    reads.reserve(batch.size());
    for (Watcher* watcher : batch) reads.emplace_back(watcher, Read(*watcher));
    std::vector<std::pair<Watcher*, Action>> actions;
    {
      absl::MutexLock lock(&mu_);
      for (auto& [watcher, read] : reads) {
        watcher->busy_ = false;
        watcher->have_read_ = true;
        watcher->read_status_ = read.status();
        if (read.ok()) watcher->update_ = *std::move(read);
        const Action action = NextAction(watcher);
        if (action != Action::kNone) actions.emplace_back(watcher, action);
      }
    }
    for (auto& [watcher, action] : actions) watcher->Perform(action);
  }
}

}  // namespace hotpath::leaderboard
