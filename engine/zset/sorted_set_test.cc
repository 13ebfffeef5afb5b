// SortedSet against a plain reference model: randomized differential tests plus edge cases.
#include "engine/zset/sorted_set.h"

#include <algorithm>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace hotpath {
namespace {

constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

// The obvious implementation: a map from name to (score, tiebreak), sorted on demand.
class Model {
 public:
  explicit Model(SortedSetOptions options) : options_(options) {}

  void Upsert(const std::string& member, int64_t score, uint64_t tiebreak) {
    members_[member] = {score, options_.ties == TieOrder::kMemberName ? 0 : tiebreak};
  }
  bool Erase(const std::string& member) { return members_.erase(member) > 0; }
  size_t size() const { return members_.size(); }

  std::vector<ScoredMember> Ordered() const {
    std::vector<ScoredMember> out;
    for (const auto& [name, value] : members_) out.push_back({name, value.first, value.second});
    const bool descending = options_.score_order == ScoreOrder::kDescending;
    std::sort(out.begin(), out.end(), [descending](const ScoredMember& a, const ScoredMember& b) {
      if (a.score != b.score) return descending ? a.score > b.score : a.score < b.score;
      return std::tie(a.tiebreak, a.member) < std::tie(b.tiebreak, b.member);
    });
    return out;
  }

 private:
  SortedSetOptions options_;
  std::map<std::string, std::pair<int64_t, uint64_t>> members_;
};

std::vector<ScoredMember> Slice(const std::vector<ScoredMember>& all, uint64_t start,
                                uint64_t count, bool reverse) {
  std::vector<ScoredMember> ordered = all;
  if (reverse) std::reverse(ordered.begin(), ordered.end());
  std::vector<ScoredMember> out;
  for (uint64_t i = start; i < ordered.size() && out.size() < count; ++i) out.push_back(ordered[i]);
  return out;
}

void ExpectSame(const SortedSet& set, const Model& model, std::mt19937_64& rng) {
  const std::vector<ScoredMember> ordered = model.Ordered();
  ASSERT_EQ(set.size(), ordered.size());
  // Every member's score and rank, both ways.
  for (size_t i = 0; i < ordered.size(); ++i) {
    const ScoredMember& m = ordered[i];
    ASSERT_EQ(set.Score(m.member), m.score) << m.member;
    ASSERT_EQ(set.Rank(m.member), i) << m.member;
    ASSERT_EQ(set.Rank(m.member, /*reverse=*/true), ordered.size() - 1 - i) << m.member;
  }
  std::uniform_int_distribution<uint64_t> any_rank(0, ordered.size() + 3);
  std::uniform_int_distribution<int64_t> score(-60, 60);
  for (int q = 0; q < 20; ++q) {
    const uint64_t start = any_rank(rng);
    const uint64_t count = any_rank(rng) % 40;
    const bool reverse = q % 2 == 1;
    ASSERT_EQ(set.RangeByRank(start, count, reverse), Slice(ordered, start, count, reverse));

    int64_t low = score(rng);
    int64_t high = score(rng);
    if (q == 0) std::tie(low, high) = std::pair(kMin, kMax);
    std::vector<ScoredMember> in_range;
    for (const ScoredMember& m : ordered) {
      if (m.score >= low && m.score <= high) in_range.push_back(m);
    }
    ASSERT_EQ(set.CountInRange(low, high), in_range.size()) << low << ".." << high;
    const uint64_t offset = any_rank(rng) % 10;
    const uint64_t limit = 1 + any_rank(rng) % 25;
    ASSERT_EQ(set.RangeByScore(low, high, offset, limit, reverse),
              Slice(in_range, offset, limit, reverse))
        << low << ".." << high << " offset " << offset << " limit " << limit;

    // Resuming after a position: a member's own, or one whose member has moved or gone.
    ScoredMember position{"", score(rng), rng() % 4};
    std::string probe = absl::StrCat(rng() % 3500, std::string(1 + rng() % 14, 'a' + q));
    position.member = probe;
    if (!ordered.empty() && q % 3 == 0) position = ordered[any_rank(rng) % ordered.size()];
    const auto not_after =
        std::count_if(ordered.begin(), ordered.end(), [&](const ScoredMember& m) {
          const bool descending = set.options().score_order == ScoreOrder::kDescending;
          const uint64_t tiebreak =
              set.options().ties == TieOrder::kEarlierFirst ? position.tiebreak : 0;
          if (m.score != position.score) {
            return descending ? m.score > position.score : m.score < position.score;
          }
          return std::tie(m.tiebreak, m.member) <= std::tie(tiebreak, position.member);
        });
    ASSERT_EQ(set.CountNotAfter(position), static_cast<uint64_t>(not_after))
        << position.member << " " << position.score << " " << position.tiebreak;
  }
}

struct Case {
  SortedSetOptions options;
  uint64_t seed;
};

class SortedSetDifferentialTest : public ::testing::TestWithParam<Case> {};

TEST_P(SortedSetDifferentialTest, MatchesTheModelOver100kRandomOperations) {
  std::mt19937_64 rng(GetParam().seed);
  SortedSet set(GetParam().options);
  Model model(GetParam().options);
  std::vector<std::string> names;
  for (int i = 0; i < 3000; ++i) {
    // Mostly short names, some past the one-byte length encoding.
    const size_t length = i % 97 == 0 ? 130 + i % 50 : 1 + i % 14;
    names.push_back(absl::StrCat(i, std::string(length, 'a' + i % 26)));
  }
  std::uniform_int_distribution<size_t> pick(0, names.size() - 1);
  std::uniform_int_distribution<int64_t> score(-50, 50);  // narrow: many ties
  std::uniform_int_distribution<int> op(0, 99);
  uint64_t sequence = 0;
  for (int i = 1; i <= 100'000; ++i) {
    const std::string& name = names[pick(rng)];
    const int which = op(rng);
    // Phases of mostly-inserts and mostly-erases make the set grow, shrink and compact.
    const bool shrinking = (i / 20'000) % 2 == 1;
    if (which < (shrinking ? 25 : 70)) {
      int64_t s = score(rng);
      if (which == 0) s = kMin;
      if (which == 1) s = kMax;
      const auto previous = set.Upsert(name, s, ++sequence);
      ASSERT_TRUE(previous.ok());
      const auto ordered_before = model.size();
      model.Upsert(name, s, sequence);
      ASSERT_EQ(previous->has_value(), model.size() == ordered_before);
    } else {
      ASSERT_EQ(set.Erase(name), model.Erase(name));
    }
    if (i % 2'000 == 0) {
      ASSERT_NO_FATAL_FAILURE(ExpectSame(set, model, rng)) << "after op " << i;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Orders, SortedSetDifferentialTest,
    ::testing::Values(Case{{ScoreOrder::kAscending, TieOrder::kEarlierFirst}, 1},
                      Case{{ScoreOrder::kDescending, TieOrder::kEarlierFirst}, 2},
                      Case{{ScoreOrder::kAscending, TieOrder::kMemberName}, 3},
                      Case{{ScoreOrder::kDescending, TieOrder::kMemberName}, 4}));

TEST(SortedSet, EmptySetAnswersEveryQuery) {
  SortedSet set;
  EXPECT_EQ(set.size(), 0u);
  EXPECT_FALSE(set.Rank("x").has_value());
  EXPECT_FALSE(set.Score("x").has_value());
  EXPECT_TRUE(set.RangeByRank(0, 10).empty());
  EXPECT_TRUE(set.RangeByScore(kMin, kMax).empty());
  EXPECT_EQ(set.CountInRange(kMin, kMax), 0u);
  EXPECT_FALSE(set.Erase("x"));
}

TEST(SortedSet, SingleMember) {
  SortedSet set;
  ASSERT_FALSE(set.Upsert("solo", 7).value().has_value());
  EXPECT_EQ(set.Rank("solo"), 0u);
  EXPECT_EQ(set.Rank("solo", true), 0u);
  EXPECT_EQ(set.RangeByRank(0, 5), (std::vector<ScoredMember>{{"solo", 7, 0}}));
  EXPECT_EQ(set.Upsert("solo", 9).value(), 7);
  EXPECT_EQ(set.CountInRange(8, 9), 1u);
  EXPECT_TRUE(set.Erase("solo"));
  EXPECT_EQ(set.size(), 0u);
}

TEST(SortedSet, AllTiesOrderByEarlierSubmissionInBothScoreOrders) {
  for (ScoreOrder order : {ScoreOrder::kAscending, ScoreOrder::kDescending}) {
    SortedSet set({.score_order = order, .ties = TieOrder::kEarlierFirst});
    for (int i = 0; i < 1000; ++i) {
      // Names run against submission order, so name order would give the opposite answer.
      ASSERT_TRUE(set.Upsert(absl::StrCat("m", 9999 - i), 100, /*tiebreak=*/i).ok());
    }
    EXPECT_EQ(set.Rank("m9999"), 0u);
    EXPECT_EQ(set.Rank("m9000"), 999u);
    EXPECT_EQ(set.RangeByRank(0, 1)[0].member, "m9999");
    EXPECT_EQ(set.RangeByRank(0, 1, /*reverse=*/true)[0].member, "m9000");
    // A re-submission with the same score moves the member behind the others.
    ASSERT_TRUE(set.Upsert("m9999", 100, 5000).ok());
    EXPECT_EQ(set.Rank("m9999"), 999u);
  }
}

TEST(SortedSet, AllTiesOrderByNameUnderMemberNameTies) {
  SortedSet set({.ties = TieOrder::kMemberName});
  for (const char* name : {"delta", "alpha", "charlie", "bravo"}) {
    ASSERT_TRUE(set.Upsert(name, 1, 12345).ok());
  }
  const auto top = set.RangeByRank(0, 4);
  ASSERT_EQ(top.size(), 4u);
  EXPECT_EQ(top[0].member, "alpha");
  EXPECT_EQ(top[3].member, "delta");
  EXPECT_EQ(top[0].tiebreak, 0u);
}

TEST(SortedSet, ExtremeScoresOrderCorrectlyInBothOrders) {
  for (ScoreOrder order : {ScoreOrder::kAscending, ScoreOrder::kDescending}) {
    SortedSet set({.score_order = order});
    ASSERT_TRUE(set.Upsert("min", kMin).ok());
    ASSERT_TRUE(set.Upsert("max", kMax).ok());
    ASSERT_TRUE(set.Upsert("zero", 0).ok());
    const bool descending = order == ScoreOrder::kDescending;
    EXPECT_EQ(set.Rank("min"), descending ? 2u : 0u);
    EXPECT_EQ(set.Rank("max"), descending ? 0u : 2u);
    EXPECT_EQ(set.Score("min"), kMin);
    EXPECT_EQ(set.CountInRange(kMin, kMin), 1u);
    EXPECT_EQ(set.CountInRange(kMax, kMax), 1u);
    EXPECT_EQ(set.CountInRange(kMin, kMax), 3u);
    EXPECT_EQ(set.CountInRange(1, 0), 0u);  // an empty range, not an error
  }
}

TEST(SortedSet, RejectsEmptyAndOverlongNames) {
  SortedSet set;
  EXPECT_EQ(set.Upsert("", 1).status().code(), absl::StatusCode::kInvalidArgument);
  const std::string longest(MemberArena::kMaxNameBytes, 'x');
  EXPECT_TRUE(set.Upsert(longest, 1).ok());
  EXPECT_EQ(set.Score(longest), 1);
  EXPECT_EQ(set.Upsert(longest + "x", 1).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(SortedSet, DeletingMostMembersCompactsAndKeepsAnswersRight) {
  SortedSet set;
  for (int i = 0; i < 50'000; ++i) ASSERT_TRUE(set.Upsert(absl::StrCat("player:", i), i).ok());
  const size_t full = set.MemoryBytes();
  for (int i = 0; i < 50'000; ++i) {
    if (i % 50 != 0) {
      ASSERT_TRUE(set.Erase(absl::StrCat("player:", i)));
    }
  }
  EXPECT_LT(set.MemoryBytes(), full / 10);
  ASSERT_EQ(set.size(), 1000u);
  for (int i = 0; i < 50'000; i += 50) {
    ASSERT_EQ(set.Rank(absl::StrCat("player:", i)), static_cast<uint64_t>(i / 50));
  }
  EXPECT_EQ(set.RangeByRank(999, 1)[0].member, "player:49950");
  // The set keeps working after compaction.
  ASSERT_TRUE(set.Upsert("player:new", -1).ok());
  EXPECT_EQ(set.Rank("player:new"), 0u);
}

TEST(SortedSet, ForEachVisitsInOrder) {
  SortedSet set({.score_order = ScoreOrder::kDescending});
  for (int i = 0; i < 300; ++i) ASSERT_TRUE(set.Upsert(absl::StrCat("m", i), i % 7, i).ok());
  std::vector<ScoredMember> visited;
  set.ForEach([&](const ScoredMember& m) { visited.push_back(m); });
  EXPECT_EQ(visited, set.RangeByRank(0, 300));
}

// Members as owned values: ScoredMember views its name in the set's records.
using OwnedMember = std::tuple<std::string, int64_t, uint64_t>;
template <typename Set>
std::vector<OwnedMember> Members(const Set& set) {
  std::vector<OwnedMember> members;
  set.ForEach([&](const ScoredMember& m) {
    members.emplace_back(std::string(m.member), m.score, m.tiebreak);
  });
  return members;
}

// 10,000 members fill several 64 KiB arena chunks, so that changes land in shared ones.
TEST(SortedSetImage, KeepsTheMembersAsTheyWereWhileTheSetChanges) {
  SortedSet set({.score_order = ScoreOrder::kDescending});
  for (int i = 0; i < 10'000; ++i) ASSERT_TRUE(set.Upsert(absl::StrCat("m", i), i % 97, i).ok());
  const std::vector<OwnedMember> before = Members(set);
  const SortedSet::Image image = set.TakeImage();
  EXPECT_EQ(image.size(), 10'000u);
  EXPECT_EQ(image.options().score_order, ScoreOrder::kDescending);
  // New scores for some (records in shared chunks changed), new members (appended to a shared
  // chunk), and most of the rest erased, which compacts the set into a new arena.
  for (int i = 0; i < 10'000; i += 3) ASSERT_TRUE(set.Upsert(absl::StrCat("m", i), 1000 + i).ok());
  for (int i = 0; i < 2'000; ++i) ASSERT_TRUE(set.Upsert(absl::StrCat("new", i), -i).ok());
  // A new member's record, appended to the shared last chunk, then changed: the chunk's copy
  // takes the records appended after the image too.
  ASSERT_TRUE(set.Upsert("new1999", 7).ok());
  EXPECT_EQ(Members(image), before);
  for (int i = 1; i < 10'000; i += 3) ASSERT_TRUE(set.Erase(absl::StrCat("m", i)));
  for (int i = 2; i < 10'000; i += 3) ASSERT_TRUE(set.Erase(absl::StrCat("m", i)));
  EXPECT_EQ(Members(image), before);
  // The set has its own answers all along.
  EXPECT_EQ(set.size(), 3'334u + 2'000u);
  EXPECT_EQ(set.Score("m3"), 1003);
  EXPECT_EQ(set.Score("new7"), -7);
  EXPECT_EQ(set.Score("new1999"), 7);
  EXPECT_FALSE(set.Score("m4").has_value());
}

// Once the image is gone the set changes its records in place again; it must end as a set that
// never had an image.
TEST(SortedSetImage, TheSetStaysRightAfterTheImageIsGone) {
  SortedSet set({.score_order = ScoreOrder::kDescending});
  SortedSet never_imaged({.score_order = ScoreOrder::kDescending});
  for (SortedSet* s : {&set, &never_imaged}) {
    for (int i = 0; i < 10'000; ++i) ASSERT_TRUE(s->Upsert(absl::StrCat("m", i), i % 97, i).ok());
  }
  {
    const SortedSet::Image image = set.TakeImage();
    for (int i = 0; i < 10'000; i += 4) ASSERT_TRUE(set.Upsert(absl::StrCat("m", i), -i).ok());
  }
  for (int i = 0; i < 10'000; i += 4)
    ASSERT_TRUE(never_imaged.Upsert(absl::StrCat("m", i), -i).ok());
  for (SortedSet* s : {&set, &never_imaged}) {
    for (int i = 0; i < 10'000; i += 2) ASSERT_TRUE(s->Upsert(absl::StrCat("m", i), 5000 + i).ok());
  }
  EXPECT_EQ(set.Score("m9998"), 5000 + 9998);
  EXPECT_EQ(set.Rank("m9998"), 0u);
  EXPECT_EQ(Members(set), Members(never_imaged));
}

// The image is read on another thread, without any lock, while the set changes every record
// it holds: under ThreadSanitizer (make test-tsan) a record changed in place would be a race.
TEST(SortedSetImage, IsReadOnAnotherThreadWhileTheSetChanges) {
  SortedSet set({.score_order = ScoreOrder::kDescending});
  for (int i = 0; i < 10'000; ++i) ASSERT_TRUE(set.Upsert(absl::StrCat("m", i), i % 97, i).ok());
  const std::vector<OwnedMember> before = Members(set);
  const SortedSet::Image image = set.TakeImage();
  std::vector<OwnedMember> read;
  std::thread reader([&] { read = Members(image); });
  for (int i = 0; i < 10'000; ++i) EXPECT_TRUE(set.Upsert(absl::StrCat("m", i), -i).ok());
  reader.join();
  EXPECT_EQ(read, before);
}

}  // namespace
}  // namespace hotpath
