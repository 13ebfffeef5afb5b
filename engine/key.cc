#include "engine/key.h"

#include <cstring>

#include "absl/strings/str_cat.h"

namespace hotpath {

absl::Status ValidateNamespace(std::string_view ns) {
  if (ns.empty()) return absl::InvalidArgumentError("namespace must not be empty");
  if (ns.size() > kMaxNamespaceBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("namespace is ", ns.size(), " bytes; the limit is ", kMaxNamespaceBytes));
  }
  return absl::OkStatus();
}

absl::Status ValidateKey(const KeyRef& key) {
  if (absl::Status ns = ValidateNamespace(key.ns); !ns.ok()) return ns;
  if (key.key.empty()) return absl::InvalidArgumentError("key must not be empty");
  if (key.key.size() > kMaxKeyBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("key is ", key.key.size(), " bytes; the limit is ", kMaxKeyBytes));
  }
  return absl::OkStatus();
}

std::string EncodeKey(const KeyRef& key) {
  std::string encoded(EncodedKeySize(key), '\0');
  EncodeKeyTo(key, encoded.data());
  return encoded;
}

void EncodeKeyTo(const KeyRef& key, char* out) {
  out[0] = static_cast<char>(static_cast<uint8_t>(key.ns.size()));
  std::memcpy(out + 1, key.ns.data(), key.ns.size());
  std::memcpy(out + 1 + key.ns.size(), key.key.data(), key.key.size());
}

}  // namespace hotpath
