#include "services/session/token.h"

#include <set>
#include <string>

#include "absl/strings/escaping.h"
#include "engine/slot.h"
#include "gtest/gtest.h"

namespace hotpath::session {
namespace {

TEST(Token, CarriesItsSlotBehindAPrefixInUrlSafeCharacters) {
  for (uint32_t slot : {0u, 1u, 4242u, kSlotCount - 1}) {
    const std::string token = NewToken(slot).value();
    EXPECT_EQ(token.substr(0, 4), "hps_");
    EXPECT_EQ(token.size(), 4u + 46u);  // 34 bytes in unpadded base64
    EXPECT_EQ(token.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                      "0123456789-_",
                                      4),
              std::string::npos)
        << token;
    EXPECT_EQ(TokenSlot(token), slot);
  }
}

TEST(Token, NeverRepeatsAndHashesToDistinctDigests) {
  std::set<std::string> tokens;
  std::set<std::string> digests;
  for (int i = 0; i < 1000; ++i) {
    const std::string token = NewToken(7).value();
    tokens.insert(token);
    digests.insert(TokenDigest(token));
  }
  EXPECT_EQ(tokens.size(), 1000u);
  EXPECT_EQ(digests.size(), 1000u);
}

TEST(Token, DigestIsSha256InUrlSafeBase64) {
  // SHA-256("abc"), base64url without padding.
  EXPECT_EQ(TokenDigest("abc"), "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
}

TEST(Token, AnythingElseHasNoSlot) {
  const std::string good = NewToken(3).value();
  EXPECT_FALSE(TokenSlot("").has_value());
  EXPECT_FALSE(TokenSlot("hps_").has_value());
  EXPECT_FALSE(TokenSlot("xyz_" + good.substr(4)).has_value());
  EXPECT_FALSE(TokenSlot(good.substr(0, good.size() - 1)).has_value());
  EXPECT_FALSE(TokenSlot(good + "AA").has_value());
  EXPECT_FALSE(TokenSlot("hps_" + std::string(46, '!')).has_value());
  // A slot past the last one cannot come from NewToken.
  EXPECT_FALSE(TokenSlot("hps_____" + good.substr(7)).has_value());
}

TEST(TokenAndId, TheTokenCarriesItsSlotAndTheIdIsSixteenUrlSafeCharacters) {
  const TokenAndId fresh = NewTokenAndId(4242).value();
  EXPECT_EQ(TokenSlot(fresh.token), 4242u);
  EXPECT_EQ(fresh.token.size(), 4u + 46u);
  EXPECT_EQ(fresh.session_id.size(), 16u);
  EXPECT_EQ(fresh.session_id.find_first_not_of(
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
            std::string::npos)
      << fresh.session_id;
}

TEST(TokenAndId, TheIdSharesNoRandomBytesWithTheToken) {
  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i) {
    const TokenAndId fresh = NewTokenAndId(7).value();
    ids.insert(fresh.session_id);
    std::string token_raw;
    std::string id_raw;
    ASSERT_TRUE(absl::WebSafeBase64Unescape(fresh.token.substr(4), &token_raw));
    ASSERT_TRUE(absl::WebSafeBase64Unescape(fresh.session_id, &id_raw));
    // Twelve bytes of the token's 32 reused as the id would show up here.
    EXPECT_EQ(token_raw.find(id_raw.substr(0, 8)), std::string::npos);
  }
  EXPECT_EQ(ids.size(), 1000u);
}

}  // namespace
}  // namespace hotpath::session
