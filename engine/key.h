// Key identity: every key lives in a namespace (a tenant).
//
// The namespace is part of a key's identity in memory and on disk from the start, so tenants can
// be isolated later without a data migration: ("a", "k") and ("b", "k") are different keys.
// Callers that name no namespace get kDefaultNamespace. Placement (slot, shard) depends on the
// key alone; see slot.h.
//
// In a shard's table a key is stored as one string: [namespace length: 1 byte][namespace][key].
// KeyHash/KeyEq hash and compare that encoding and a KeyRef alike, so lookups never allocate.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "absl/hash/hash.h"
#include "absl/status/status.h"

namespace hotpath {

inline constexpr std::string_view kDefaultNamespace = "default";

// What a request's namespace field means: empty is kDefaultNamespace.
inline constexpr std::string_view NamespaceOrDefault(std::string_view ns) {
  return ns.empty() ? kDefaultNamespace : ns;
}
inline constexpr size_t kMaxNamespaceBytes = 255;  // the encoding keeps its length in one byte
inline constexpr size_t kMaxKeyBytes = 64 * 1024;
// The largest string value, hash value or stream field value; and the largest stream entry in
// all. Together they keep every after-image record well under the log's 256 MiB frame limit.
inline constexpr size_t kMaxValueBytes = 16 * 1024 * 1024;
inline constexpr size_t kMaxStreamEntryBytes = 64 * 1024 * 1024;

// A borrowed (namespace, key) pair. The referenced bytes must outlive the call it is passed to.
struct KeyRef {
  std::string_view ns = kDefaultNamespace;
  std::string_view key;

  friend bool operator==(const KeyRef& a, const KeyRef& b) {
    return a.ns == b.ns && a.key == b.key;
  }
};

// InvalidArgument naming the field when the namespace or key is empty or too long.
absl::Status ValidateNamespace(std::string_view ns);
absl::Status ValidateKey(const KeyRef& key);

// The stored form of a key. `key` must be valid (see ValidateKey).
std::string EncodeKey(const KeyRef& key);
// The same written to `out`, which must hold EncodedKeySize(key) bytes.
inline size_t EncodedKeySize(const KeyRef& key) { return 1 + key.ns.size() + key.key.size(); }
void EncodeKeyTo(const KeyRef& key, char* out);

// Views into `encoded`, which must come from EncodeKey.
inline KeyRef DecodeKey(std::string_view encoded) {
  const size_t ns_size = static_cast<uint8_t>(encoded[0]);
  return KeyRef{encoded.substr(1, ns_size), encoded.substr(1 + ns_size)};
}

struct KeyHash {
  using is_transparent = void;
  // As absl::string_view: abseil's own hash. (Debian's abseil keeps absl::string_view apart
  // from std::string_view, whose absl::Hash falls back to std::hash, a slower byte hash.)
  size_t operator()(const KeyRef& key) const {
    return absl::HashOf(absl::string_view(key.ns.data(), key.ns.size()),
                        absl::string_view(key.key.data(), key.key.size()));
  }
  size_t operator()(const std::string& encoded) const { return (*this)(DecodeKey(encoded)); }
};

struct KeyEq {
  using is_transparent = void;
  static KeyRef AsRef(const KeyRef& key) { return key; }
  static KeyRef AsRef(const std::string& encoded) { return DecodeKey(encoded); }
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const {
    return AsRef(a) == AsRef(b);
  }
};

}  // namespace hotpath
