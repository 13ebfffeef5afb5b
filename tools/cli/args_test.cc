#include "tools/cli/args.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "hotpath/ratelimit/v1/ratelimit.pb.h"
#include "tools/cli/cli.h"

namespace hotpath::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::vector<OptionSpec> kSpecs = {
    {"target", true, false, ""}, {"json", false, false, ""},  {"attr", true, true, ""},
    {"limit", true, false, ""},  {"period", true, false, ""},
};

TEST(ArgsTest, TakesValuesInBothFormsFlagsAndPositionalsInAnyOrder) {
  auto args =
      Args::Parse({"--target", "h:1", "user", "--json", "--attr=a=1", "--attr", "b=2"}, kSpecs);
  ASSERT_TRUE(args.ok()) << args.status();
  EXPECT_EQ(args->Get("target"), "h:1");
  EXPECT_TRUE(args->Has("json"));
  EXPECT_THAT(args->GetAll("attr"), ElementsAre("a=1", "b=2"));
  EXPECT_THAT(args->positional(), ElementsAre("user"));
}

TEST(ArgsTest, DoubleDashEndsOptions) {
  auto args = Args::Parse({"--json", "--", "--not-an-option"}, kSpecs);
  ASSERT_TRUE(args.ok());
  EXPECT_THAT(args->positional(), ElementsAre("--not-an-option"));
}

TEST(ArgsTest, StopsAtTheFirstPositionalForGlobalOptions) {
  auto args = Args::Parse({"--json", "session", "get", "--no-touch"}, kSpecs, true);
  ASSERT_TRUE(args.ok());
  EXPECT_TRUE(args->Has("json"));
  EXPECT_THAT(args->rest(), ElementsAre("session", "get", "--no-touch"));
}

TEST(ArgsTest, MistakesAreUsageErrorsNamingTheOption) {
  auto unknown = Args::Parse({"--tagret=x"}, kSpecs);
  EXPECT_TRUE(IsUsageError(unknown.status()));
  EXPECT_THAT(unknown.status().message(), HasSubstr("unknown option --tagret"));
  EXPECT_THAT(Args::Parse({"--target"}, kSpecs).status().message(), HasSubstr("needs a value"));
  EXPECT_THAT(Args::Parse({"--json=yes"}, kSpecs).status().message(), HasSubstr("takes no value"));
  EXPECT_THAT(Args::Parse({"--limit=1", "--limit=2"}, kSpecs).status().message(),
              HasSubstr("given twice"));
}

TEST(ArgsTest, TypedValuesRejectMalformedText) {
  auto args = Args::Parse({"--limit=-3", "--period=soon"}, kSpecs);
  ASSERT_TRUE(args.ok());
  EXPECT_THAT(args->GetUint("limit").status().message(),
              HasSubstr("--limit must be a non-negative"));
  auto big = Args::Parse({"--limit=4294967296"}, kSpecs);
  EXPECT_EQ(*big->GetUint("limit").value(), 4294967296u);
  EXPECT_THAT(big->GetUint32("limit").status().message(), HasSubstr("at most 4294967295"));
  EXPECT_THAT(args->GetDuration("period").status().message(),
              HasSubstr("--period must be a duration"));
  auto good = Args::Parse({"--period=1m30s"}, kSpecs);
  EXPECT_EQ(*good->GetDuration("period").value(), absl::Seconds(90));
  EXPECT_FALSE(good->GetUint("limit").value().has_value());
}

TEST(ArgsTest, SplitPairNeedsAKey) {
  EXPECT_EQ(SplitPair("attr", "role=admin=1").value(),
            std::make_pair(std::string("role"), std::string("admin=1")));
  EXPECT_THAT(SplitPair("attr", "=x").status().message(), HasSubstr("--attr takes key=value"));
  EXPECT_FALSE(SplitPair("attr", "novalue").ok());
}

TEST(ParseEnumTest, NamesWithoutThePrefixAndListsTheChoices) {
  const auto* type = ratelimit::v1::Algorithm_descriptor();
  EXPECT_EQ(ParseEnum(type, "algorithm", "token-bucket").value(),
            ratelimit::v1::ALGORITHM_TOKEN_BUCKET);
  EXPECT_EQ(ParseEnum(type, "algorithm", "GCRA").value(), ratelimit::v1::ALGORITHM_GCRA);
  auto bad = ParseEnum(type, "algorithm", "unspecified");
  EXPECT_TRUE(IsUsageError(bad.status()));
  EXPECT_THAT(bad.status().message(),
              HasSubstr("must be one of sliding-window, token-bucket, fixed-window, gcra"));
}

}  // namespace
}  // namespace hotpath::cli
