#include "services/auth/authorizer.h"

#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "prometheus/registry.h"
#include "prometheus/text_serializer.h"

namespace hotpath::auth {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kSecret[] = "hp-test-key-0123456789";

std::shared_ptr<const AccessRules> Rules() {
  auto rules =
      AccessRules::Parse("access.yaml", absl::StrCat("keys:\n"
                                                     "  - id: checkout\n"
                                                     "    sha256: ",
                                                     KeySha256Hex(kSecret),
                                                     "\n"
                                                     "    scopes: [session:read]\n"
                                                     "    namespaces: [shop]\n"
                                                     "identities:\n"
                                                     "  - id: billing\n"
                                                     "    name: billing.internal\n"
                                                     "    scopes: ['pubsub:*']\n"
                                                     "    namespaces: ['*']\n"));
  EXPECT_TRUE(rules.ok()) << rules.status();
  return *rules;
}

Credentials Bearer(std::string_view header) { return {.authorization = header}; }

TEST(AuthorizerTest, WithoutRulesEveryCallPasses) {
  Authorizer authorizer;
  EXPECT_FALSE(authorizer.enabled());
  EXPECT_TRUE(authorizer.Authorize(Credentials{}, Scope::kAdminWrite, "any").ok());
}

TEST(AuthorizerTest, AnswersEachRefusalWithItsCodeAndCountsIt) {
  prometheus::Registry registry;
  Authorizer authorizer(&registry);
  authorizer.SetRules(Rules());
  const std::string header = absl::StrCat("Bearer ", kSecret);

  EXPECT_TRUE(authorizer.Authorize(Bearer(header), Scope::kSessionRead, "shop").ok());
  // The scheme is case-insensitive.
  EXPECT_TRUE(
      authorizer.Authorize(Bearer(absl::StrCat("bearer ", kSecret)), Scope::kSessionRead, "shop")
          .ok());

  const absl::Status missing = authorizer.Authorize(Credentials{}, Scope::kSessionRead, "shop");
  EXPECT_TRUE(absl::IsUnauthenticated(missing)) << missing;
  const absl::Status wrong =
      authorizer.Authorize(Bearer("Bearer nope"), Scope::kSessionRead, "shop");
  EXPECT_TRUE(absl::IsUnauthenticated(wrong)) << wrong;
  EXPECT_TRUE(absl::IsUnauthenticated(
      authorizer.Authorize(Bearer(kSecret), Scope::kSessionRead, "shop")));  // no scheme
  const absl::Status scope = authorizer.Authorize(Bearer(header), Scope::kSessionWrite, "shop");
  EXPECT_TRUE(absl::IsPermissionDenied(scope)) << scope;
  EXPECT_EQ(scope.message(), "key \"checkout\" lacks the scope session:write");
  const absl::Status ns = authorizer.Authorize(Bearer(header), Scope::kSessionRead, "other");
  EXPECT_TRUE(absl::IsPermissionDenied(ns)) << ns;
  EXPECT_EQ(ns.message(), "key \"checkout\" may not use the namespace \"other\"");
  // An empty namespace is the default one, which this key was not given; only a server-wide
  // call (no namespace at all) asks for the scope alone.
  const absl::Status empty = authorizer.Authorize(Bearer(header), Scope::kSessionRead, "");
  EXPECT_EQ(empty.message(), "key \"checkout\" may not use the namespace \"default\"");
  EXPECT_TRUE(authorizer.Authorize(Bearer(header), Scope::kSessionRead, std::nullopt).ok());
  // No message carries the secret.
  for (const absl::Status& s : {missing, wrong, scope, ns, empty}) {
    EXPECT_THAT(std::string(s.message()), Not(HasSubstr(kSecret)));
  }

  EXPECT_EQ(authorizer.failures(Failure::kMissing), 1u);
  EXPECT_EQ(authorizer.failures(Failure::kInvalid), 2u);
  EXPECT_EQ(authorizer.failures(Failure::kScope), 1u);
  EXPECT_EQ(authorizer.failures(Failure::kNamespace), 2u);
  const std::string exposed = prometheus::TextSerializer().Serialize(registry.Collect());
  EXPECT_THAT(exposed, HasSubstr("hotpath_auth_failures_total{reason=\"invalid_credentials\"} 2"));
  EXPECT_THAT(exposed, HasSubstr("hotpath_auth_failures_total{reason=\"namespace\"} 2"));
}

TEST(AuthorizerTest, CertificateIdentitiesApplyWhenNoKeyIsSent) {
  Authorizer authorizer;
  authorizer.SetRules(Rules());
  Credentials cert{.certificate_names = {"billing.internal"}};
  EXPECT_TRUE(authorizer.Authorize(cert, Scope::kPubsubPublish, "anywhere").ok());
  EXPECT_TRUE(absl::IsPermissionDenied(authorizer.Authorize(cert, Scope::kSessionRead, "x")));
  // A key sent alongside decides alone, even a wrong one.
  cert.authorization = "Bearer wrong";
  EXPECT_TRUE(absl::IsUnauthenticated(authorizer.Authorize(cert, Scope::kPubsubPublish, "x")));
  const absl::Status unknown = authorizer.Authorize(Credentials{.certificate_names = {"stranger"}},
                                                    Scope::kPubsubPublish, "x");
  EXPECT_TRUE(absl::IsUnauthenticated(unknown));
  EXPECT_THAT(std::string(unknown.message()), HasSubstr("names no identity"));
}

TEST(AuthorizerTest, HealthIsExemptOnlyWhenConfigured) {
  Authorizer exempt(nullptr, /*exempt_health=*/true);
  exempt.SetRules(Rules());
  EXPECT_TRUE(exempt.Authorize(Credentials{}, Scope::kHealthCheck, std::nullopt).ok());
  Authorizer strict(nullptr, /*exempt_health=*/false);
  strict.SetRules(Rules());
  EXPECT_TRUE(
      absl::IsUnauthenticated(strict.Authorize(Credentials{}, Scope::kHealthCheck, std::nullopt)));
}

TEST(AuthorizerTest, NewRulesApplyToLaterCallsAndNullTurnsItOff) {
  Authorizer authorizer;
  authorizer.SetRules(Rules());
  const std::string header = absl::StrCat("Bearer ", kSecret);
  ASSERT_TRUE(authorizer.Authorize(Bearer(header), Scope::kSessionRead, "shop").ok());
  auto rotated = AccessRules::Parse(
      "access.yaml",
      absl::StrCat("keys:\n  - id: new\n    sha256: ", KeySha256Hex("new-key"),
                   "\n    scopes: ['*']\n    namespaces: ['*']\n"));
  ASSERT_TRUE(rotated.ok());
  authorizer.SetRules(*rotated);
  EXPECT_TRUE(
      absl::IsUnauthenticated(authorizer.Authorize(Bearer(header), Scope::kSessionRead, "shop")));
  EXPECT_TRUE(authorizer.Authorize(Bearer("Bearer new-key"), Scope::kSessionRead, "shop").ok());
  authorizer.SetRules(nullptr);
  EXPECT_TRUE(authorizer.Authorize(Credentials{}, Scope::kSessionRead, "shop").ok());
}

}  // namespace
}  // namespace hotpath::auth
