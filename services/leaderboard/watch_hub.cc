#include "services/leaderboard/watch_hub.h"

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"

namespace hotpath::leaderboard {
namespace {

std::string KeyOf(const std::string& ns, const std::string& board) {
  return absl::StrCat(ns.size(), ":", ns, board);
}

// One watcher's reads: the board's top N, or one member's entry.
class WatchSource final : public PushSource<v1::WatchResponse> {
 public:
  WatchSource(BoardStore* store, std::string ns, const v1::WatchRequest& request)
      : store_(store),
        ns_(std::move(ns)),
        board_(request.board()),
        top_(request.top()),
        member_(request.member()) {}

  absl::StatusOr<PushStep<v1::WatchResponse>> Next() override {
    absl::StatusOr<Page> page =
        top_ != 0 ? store_->Top(ns_, board_, 0, top_, "") : store_->LiveEntry(ns_, board_, member_);
    if (!page.ok()) return page.status();
    v1::WatchResponse update;
    for (v1::Entry& entry : page->entries) *update.add_entries() = std::move(entry);
    update.set_season(page->season);
    // Entries and season only: a total that moved below the top is no news.
    std::string news = update.SerializeAsString();
    update.set_total(page->total);
    PushStep<v1::WatchResponse> step;
    if (!sent_any_ || news != sent_) {
      sent_ = std::move(news);
      sent_any_ = true;
      step.message = std::move(update);
    }
    return step;
  }

 private:
  BoardStore* const store_;
  const std::string ns_;
  const std::string board_;
  const uint32_t top_;  // 0 when following a member
  const std::string member_;
  std::string sent_;  // the entries and season last sent, serialized
  bool sent_any_ = false;
};

}  // namespace

grpc::ServerWriteReactor<v1::WatchResponse>* WatchHub::Open(std::string ns,
                                                            const v1::WatchRequest& request) {
  std::string key = KeyOf(ns, request.board());
  return streams_.Open(std::move(key),
                       std::make_unique<WatchSource>(store_, std::move(ns), request));
}

void WatchHub::Changed(const std::string& ns, const std::string& board) {
  streams_.Poke(KeyOf(ns, board));
}

}  // namespace hotpath::leaderboard
