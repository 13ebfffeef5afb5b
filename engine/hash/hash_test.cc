#include "engine/hash/hash.h"

#include <map>
#include <random>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hotpath {
namespace {

using ::testing::HasSubstr;

std::map<std::string, std::string> Contents(const Hash& hash) {
  std::map<std::string, std::string> out;
  hash.ForEach([&](std::string_view f, std::string_view v) { out.emplace(f, v); });
  return out;
}

TEST(Hash, SetGetDeleteWhileCompact) {
  Hash hash;
  EXPECT_TRUE(hash.Set("user", "42"));
  EXPECT_TRUE(hash.Set("ip", "10.0.0.1"));
  EXPECT_FALSE(hash.Set("user", "43"));         // same length: in place
  EXPECT_FALSE(hash.Set("ip", "192.168.1.1"));  // longer: moved
  EXPECT_EQ(hash.Get("user"), "43");
  EXPECT_EQ(hash.Get("ip"), "192.168.1.1");
  EXPECT_FALSE(hash.Get("missing").has_value());
  EXPECT_EQ(hash.size(), 2u);
  EXPECT_TRUE(hash.compact());
  EXPECT_TRUE(hash.Delete("user"));
  EXPECT_FALSE(hash.Delete("user"));
  EXPECT_EQ(Contents(hash), (std::map<std::string, std::string>{{"ip", "192.168.1.1"}}));
}

TEST(Hash, ConvertsToATableWhenAValueOutgrowsTheCompactLimit) {
  Hash hash;
  hash.Set("a", "1");
  hash.Set("b", std::string(Hash::kCompactMaxBytes, 'x'));
  EXPECT_TRUE(hash.compact());
  hash.Set("c", std::string(Hash::kCompactMaxBytes + 1, 'y'));
  EXPECT_FALSE(hash.compact());
  EXPECT_EQ(hash.size(), 3u);
  EXPECT_EQ(hash.Get("a"), "1");
  EXPECT_EQ(hash.Get("c")->size(), Hash::kCompactMaxBytes + 1);
}

TEST(Hash, ConvertsToATableWhenItHasTooManyFieldsAndStaysOne) {
  Hash hash;
  for (size_t i = 0; i < Hash::kCompactMaxEntries; ++i) hash.Set(absl::StrCat("f", i), "v");
  EXPECT_TRUE(hash.compact());
  hash.Set("one-more", "v");
  EXPECT_FALSE(hash.compact());
  for (size_t i = 0; i < Hash::kCompactMaxEntries; ++i) hash.Delete(absl::StrCat("f", i));
  EXPECT_FALSE(hash.compact());  // no flip-flopping back
  EXPECT_EQ(hash.size(), 1u);
}

TEST(Hash, SetAcceptsViewsIntoItsOwnBuffer) {
  Hash hash;
  hash.Set("a", std::string(40, 'x'));
  hash.Set("b", *hash.Get("a"));  // the buffer must grow while the view points into it
  EXPECT_EQ(hash.Get("b"), std::string(40, 'x'));
  hash.Set("c", "yy");
  hash.Set("a", *hash.Get("c"));  // the old "a" is erased before the new one is written
  EXPECT_EQ(hash.Get("a"), "yy");
  hash.Set(*hash.Get("c"), "field named by a value");
  EXPECT_EQ(hash.Get("yy"), "field named by a value");
}

TEST(Hash, IncrementByFollowsIntegerRules) {
  Hash hash;
  EXPECT_EQ(hash.IncrementBy("n", 5).value(), 5);
  EXPECT_EQ(hash.IncrementBy("n", -6).value(), -1);
  EXPECT_EQ(hash.Get("n"), "-1");
  hash.Set("s", "12abc");
  EXPECT_EQ(hash.IncrementBy("s", 1).status().code(), absl::StatusCode::kFailedPrecondition);
  hash.Set("max", "9223372036854775807");
  EXPECT_EQ(hash.IncrementBy("max", 1).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(hash.Get("max"), "9223372036854775807");
}

TEST(Hash, ValidateNamesTheProblem) {
  EXPECT_THAT(Hash::Validate("", "v").message(), HasSubstr("field must not be empty"));
  EXPECT_THAT(Hash::Validate(std::string(Hash::kMaxFieldBytes + 1, 'f'), "v").message(),
              HasSubstr("field is 65537 bytes"));
  EXPECT_TRUE(Hash::Validate("f", "").ok());  // empty values are values
}

TEST(Hash, MatchesAMapOverRandomOperations) {
  std::mt19937_64 rng(11);
  for (int round = 0; round < 20; ++round) {
    Hash hash;
    std::map<std::string, std::string> model;
    const int fields = round < 10 ? 40 : 400;  // the second half crosses into a table
    for (int i = 0; i < 5'000; ++i) {
      const std::string field = absl::StrCat("field", rng() % fields);
      const int op = static_cast<int>(rng() % 10);
      if (op < 6) {
        const std::string value(rng() % (round % 3 == 0 ? 80 : 20), 'a' + rng() % 26);
        ASSERT_EQ(hash.Set(field, value), model.count(field) == 0);
        model[field] = value;
      } else if (op < 9) {
        ASSERT_EQ(hash.Delete(field), model.erase(field) == 1);
      } else {
        const auto got = hash.Get(field);
        auto it = model.find(field);
        ASSERT_EQ(got.has_value(), it != model.end());
        if (got.has_value()) {
          ASSERT_EQ(*got, it->second);
        }
      }
      ASSERT_EQ(hash.size(), model.size());
    }
    ASSERT_EQ(Contents(hash), model);
  }
}

TEST(Hash, CompactSessionCostsLittleMemory) {
  Hash session;
  session.Set("user_id", "u-12345");
  session.Set("created", "1732540000");
  session.Set("ip", "203.0.113.7");
  session.Set("agent", "Mozilla/5.0 (X11; Linux x86_64)");
  EXPECT_TRUE(session.compact());
  // 80 bytes of fields and values plus 8 length bytes, in one buffer with bounded slack.
  size_t payload = 0;
  session.ForEach(
      [&](std::string_view f, std::string_view v) { payload += f.size() + v.size() + 2; });
  EXPECT_EQ(payload, 88u);
  EXPECT_LE(session.HeapBytes(), 2 * payload + 1);
  EXPECT_LE(sizeof(Hash), 64u);
}

}  // namespace
}  // namespace hotpath
