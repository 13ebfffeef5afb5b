#include "services/session/token.h"

#include <sys/random.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "engine/common/absl_view.h"
#include "engine/slot.h"
#include "services/common/sha256.h"

namespace hotpath::session {
namespace {

// Fills `out` from the kernel's CSPRNG, retrying short reads and interruptions.
absl::Status FillRandom(char* out, size_t size) {
  size_t filled = 0;
  while (filled < size) {
    const ssize_t got = getrandom(out + filled, size - filled, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      return absl::UnavailableError(absl::StrCat("getrandom failed: ", std::strerror(errno)));
    }
    filled += static_cast<size_t>(got);
  }
  return absl::OkStatus();
}

constexpr size_t kSessionIdRandomBytes = 12;

// The token of `slot` with the kTokenRandomBytes at `random`.
std::string TokenOf(uint32_t slot, const char* random) {
  char raw[2 + kTokenRandomBytes];
  raw[0] = static_cast<char>((slot >> 8) & 0xff);
  raw[1] = static_cast<char>(slot & 0xff);
  std::memcpy(raw + 2, random, kTokenRandomBytes);
  return absl::StrCat(AbslView(kTokenPrefix),
                      absl::WebSafeBase64Escape(absl::string_view(raw, sizeof(raw))));
}

}  // namespace

absl::StatusOr<std::string> NewToken(uint32_t slot) {
  char random[kTokenRandomBytes];
  if (absl::Status filled = FillRandom(random, sizeof(random)); !filled.ok()) return filled;
  return TokenOf(slot, random);
}

std::optional<uint32_t> TokenSlot(std::string_view token) {
  if (token.substr(0, kTokenPrefix.size()) != kTokenPrefix) return std::nullopt;
  std::string raw;
  const absl::string_view body(token.data() + kTokenPrefix.size(),
                               token.size() - kTokenPrefix.size());
  if (!absl::WebSafeBase64Unescape(body, &raw) || raw.size() != 2 + kTokenRandomBytes) {
    return std::nullopt;
  }
  const uint32_t slot =
      (static_cast<uint32_t>(static_cast<uint8_t>(raw[0])) << 8) | static_cast<uint8_t>(raw[1]);
  if (slot >= kSlotCount) return std::nullopt;
  return slot;
}

std::string TokenDigest(std::string_view token) {
  const Sha256Digest digest = Sha256(token);
  return absl::WebSafeBase64Escape(
      absl::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
}

absl::StatusOr<TokenAndId> NewTokenAndId(uint32_t slot) {
  char random[kTokenRandomBytes + kSessionIdRandomBytes];
  if (absl::Status filled = FillRandom(random, sizeof(random)); !filled.ok()) return filled;
  return TokenAndId{.token = TokenOf(slot, random),
                    .session_id = absl::WebSafeBase64Escape(
                        absl::string_view(random + kTokenRandomBytes, kSessionIdRandomBytes))};
}

}  // namespace hotpath::session
