// Session tokens: what a client holds, and the digest the engine keys a session by.
//
// A token is "hps_" followed by the URL-safe base64 (no padding) of 34 bytes: the slot of the
// session's user (2 bytes, big-endian) and 32 bytes from the operating system's CSPRNG
// (getrandom). The slot lets a Get find the shard that holds both the session and its user's
// index without knowing the user; it says nothing about the user beyond one of 16384 buckets.
// The prefix lets secret scanners recognise a leaked token.
//
// Only TokenDigest(token), SHA-256 of the whole token, is ever stored: a copy of the data
// directory gives no usable token. The raw token lives in Create's response and the caller.
//
// Thread safety: every function may be called from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace hotpath::session {

inline constexpr std::string_view kTokenPrefix = "hps_";
inline constexpr size_t kTokenRandomBytes = 32;

// A new token for a session whose user is in `slot` (< kSlotCount). UNAVAILABLE if the
// operating system has no randomness to give.
absl::StatusOr<std::string> NewToken(uint32_t slot);

// The slot a well-formed token carries; nullopt for anything that is not one of our tokens.
std::optional<uint32_t> TokenSlot(std::string_view token);

// SHA-256 of the token, as 43 URL-safe base64 characters: what the engine keys it by.
std::string TokenDigest(std::string_view token);

// What a new session needs: its token (as NewToken) and its public identifier, 16 URL-safe
// characters (96 random bits). Both come from one read of the CSPRNG: each read is a system
// call, which on a virtual machine costs about as much as the rest of a Create's engine work.
// UNAVAILABLE as NewToken.
struct TokenAndId {
  std::string token;
  std::string session_id;
};
absl::StatusOr<TokenAndId> NewTokenAndId(uint32_t slot);

}  // namespace hotpath::session
