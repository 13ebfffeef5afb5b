#include "services/auth/access_rules.h"

#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hotpath::auth {
namespace {

using ::testing::HasSubstr;

std::string HexSha(const std::string& key) { return KeySha256Hex(key); }

absl::StatusOr<std::shared_ptr<const AccessRules>> ParseKeyEntry(const std::string& entry) {
  return AccessRules::Parse("access.yaml", absl::StrCat("keys:\n  - ", entry, "\n"));
}

TEST(AccessRulesTest, FindsKeysByTheirHashOnly) {
  const std::string text = absl::StrCat(
      "keys:\n"
      "  - id: checkout\n"
      "    sha256: ",
      HexSha("secret-one"),
      "\n"
      "    scopes: [ratelimit:check, 'session:*']\n"
      "    namespaces: [shop]\n"
      "  - id: ops\n"
      "    sha256: ",
      absl::AsciiStrToUpper(HexSha("secret-two")),
      "\n"
      "    scopes: ['*']\n"
      "    namespaces: ['*']\n");
  auto rules = AccessRules::Parse("access.yaml", text);
  ASSERT_TRUE(rules.ok()) << rules.status();
  const Principal* checkout = (*rules)->FindKey("secret-one");
  ASSERT_NE(checkout, nullptr);
  EXPECT_EQ(checkout->id, "checkout");
  EXPECT_TRUE(checkout->scopes.Has(Scope::kRatelimitCheck));
  EXPECT_TRUE(checkout->scopes.Has(Scope::kSessionAdmin));
  EXPECT_FALSE(checkout->scopes.Has(Scope::kRatelimitAdmin));
  EXPECT_FALSE(checkout->scopes.Has(Scope::kLeaderboardRead));
  EXPECT_TRUE(checkout->MayUse("shop"));
  EXPECT_FALSE(checkout->MayUse("shop2"));
  const Principal* ops = (*rules)->FindKey("secret-two");
  ASSERT_NE(ops, nullptr);
  EXPECT_TRUE(ops->scopes.Has(Scope::kAdminWrite));
  EXPECT_TRUE(ops->MayUse("anything"));
  EXPECT_EQ((*rules)->FindKey("secret-three"), nullptr);
  // The hash itself is not a key.
  EXPECT_EQ((*rules)->FindKey(HexSha("secret-one")), nullptr);
}

TEST(AccessRulesTest, IdentitiesMatchAnyCertificateName) {
  auto rules = AccessRules::Parse("access.yaml",
                                  "identities:\n"
                                  "  - id: billing\n"
                                  "    name: billing.internal\n"
                                  "    scopes: [pubsub:publish]\n"
                                  "    namespaces: [billing]\n");
  ASSERT_TRUE(rules.ok()) << rules.status();
  const Principal* billing = (*rules)->FindIdentity({"CN-other", "billing.internal"});
  ASSERT_NE(billing, nullptr);
  EXPECT_EQ(billing->id, "billing");
  EXPECT_EQ((*rules)->FindIdentity({"billing.internal.evil"}), nullptr);
  EXPECT_EQ((*rules)->FindIdentity({}), nullptr);
}

TEST(AccessRulesTest, QuotasFallBackToTheStarEntry) {
  auto rules = AccessRules::Parse("access.yaml", absl::StrCat("keys:\n"
                                                              "  - id: a\n"
                                                              "    sha256: ",
                                                              HexSha("k"),
                                                              "\n"
                                                              "    scopes: ['*']\n"
                                                              "    namespaces: ['*']\n"
                                                              "namespaces:\n"
                                                              "  - name: shop\n"
                                                              "    max_keys: 10\n"
                                                              "  - name: '*'\n"
                                                              "    max_memory: 4096\n"));
  ASSERT_TRUE(rules.ok()) << rules.status();
  EXPECT_EQ((*rules)->QuotaOf("shop").max_keys, 10u);
  EXPECT_EQ((*rules)->QuotaOf("shop").max_memory, 0u);
  EXPECT_EQ((*rules)->QuotaOf("other").max_memory, 4096u);
  EXPECT_EQ((*rules)->QuotaOf("other").max_keys, 0u);
}

TEST(AccessRulesTest, RejectsBadFilesNamingThePlace) {
  const std::string good_hash = HexSha("k");
  struct Case {
    std::string entry;
    std::string error;
  };
  const Case cases[] = {
      {absl::StrCat("id: a\n    sha256: ", good_hash,
                    "\n    scopes: [session:rad]\n    namespaces: [x]"),
       "keys[0].scopes: unknown scope \"session:rad\""},
      {absl::StrCat("id: a\n    sha256: ", good_hash, "\n    scopes: []\n    namespaces: [x]"),
       "keys[0]: scopes must be a non-empty list"},
      {absl::StrCat("id: a\n    sha256: ", good_hash, "\n    scopes: ['*']"),
       "keys[0]: namespaces must be a non-empty list"},
      {"id: a\n    sha256: not-a-hash\n    scopes: ['*']\n    namespaces: [x]",
       "keys[0]: sha256 must be 64 hex digits"},
      {absl::StrCat("sha256: ", good_hash, "\n    scopes: ['*']\n    namespaces: [x]"),
       "keys[0]: id is required"},
      {absl::StrCat("id: a\n    key: s3cret\n    sha256: ", good_hash,
                    "\n    scopes: ['*']\n    namespaces: [x]"),
       "keys[0]: unknown key 'key'"},
      {absl::StrCat("id: a\n    sha256: ", good_hash, "\n    scopes: ['*']\n    namespaces: ['']"),
       "keys[0].namespaces: namespace must not be empty"},
  };
  for (const Case& c : cases) {
    auto rules = ParseKeyEntry(c.entry);
    ASSERT_FALSE(rules.ok()) << c.entry;
    EXPECT_TRUE(absl::IsInvalidArgument(rules.status()));
    EXPECT_THAT(std::string(rules.status().message()), HasSubstr("access.yaml: " + c.error))
        << rules.status();
  }
}

TEST(AccessRulesTest, RejectsRepeatsAndEmptyFiles) {
  const std::string entry =
      absl::StrCat("    sha256: ", HexSha("k"), "\n    scopes: ['*']\n    namespaces: ['*']\n");
  auto same_id = AccessRules::Parse(
      "f", absl::StrCat("keys:\n  - id: a\n", entry, "identities:\n  - id: a\n    name: n\n",
                        "    scopes: ['*']\n    namespaces: ['*']\n"));
  EXPECT_THAT(std::string(same_id.status().message()),
              HasSubstr("identities[0]: id \"a\" is already used by f: keys[0]"));
  auto same_key =
      AccessRules::Parse("f", absl::StrCat("keys:\n  - id: a\n", entry, "  - id: b\n", entry));
  EXPECT_THAT(std::string(same_key.status().message()), HasSubstr("keys[1]: the same key"));
  EXPECT_THAT(std::string(AccessRules::Parse("f", "").status().message()), HasSubstr("empty"));
  EXPECT_THAT(std::string(AccessRules::Parse("f", "keys: []\n").status().message()),
              HasSubstr("nobody could call"));
  EXPECT_THAT(std::string(AccessRules::Parse("f", "users: []\n").status().message()),
              HasSubstr("unknown key 'users'"));
  EXPECT_THAT(std::string(AccessRules::Parse("f", absl::StrCat("keys:\n  - id: a\n", entry,
                                                               "namespaces:\n  - name: x\n"
                                                               "    max_keys: -1\n"))
                              .status()
                              .message()),
              HasSubstr("namespaces[0]: max_keys must be an integer from 0"));
  EXPECT_FALSE(AccessRules::Parse("f", absl::StrCat("keys:\n  - id: a\n", entry,
                                                    "namespaces:\n  - name: x\n"
                                                    "    max_memory: 18446744073709551615\n"))
                   .ok());
  EXPECT_TRUE(absl::IsNotFound(AccessRules::Load("/nonexistent/access.yaml").status()));
}

}  // namespace
}  // namespace hotpath::auth
