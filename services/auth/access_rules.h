// AccessRules: the parsed access file (auth.access_file): who may call hotpathd, with which
// scopes, in which namespaces, and how much each namespace may hold.
//
//   keys:                        # API keys, sent as "authorization: Bearer <key>"
//     - id: checkout             # a name for logs and errors; never the secret
//       sha256: 9f86d08...       # hex SHA-256 of the key (printf %s "$KEY" | sha256sum)
//       scopes: [ratelimit:check, session:read]
//       namespaces: [shop]       # or ["*"] for every namespace
//   identities:                  # client certificates (tls.client_ca_file)
//     - id: billing
//       name: billing.internal   # the certificate's common name or a subject alternative name
//       scopes: ["*"]
//       namespaces: [billing]
//   namespaces:                  # quotas; "*" applies to every namespace not listed
//     - name: shop
//       max_keys: 1000000
//       max_memory: 268435456   # bytes
//
// Only hashes of keys are held, in the file and in memory.
//
// Thread safety: immutable once parsed; share it freely.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "services/auth/scope.h"

namespace hotpath::auth {

struct Principal {
  std::string id;
  ScopeSet scopes;
  bool all_namespaces = false;
  std::vector<std::string> namespaces;

  bool MayUse(std::string_view ns) const;
};

// A namespace's limits; 0 means none.
struct Quota {
  uint64_t max_keys = 0;
  uint64_t max_memory = 0;
};

class AccessRules {
 public:
  // InvalidArgument naming `name` and the place in the file at fault.
  static absl::StatusOr<std::shared_ptr<const AccessRules>> Parse(const std::string& name,
                                                                  const std::string& text);
  static absl::StatusOr<std::shared_ptr<const AccessRules>> Load(const std::string& path);

  // The key whose SHA-256 is that of `secret`, or null.
  const Principal* FindKey(std::string_view secret) const;
  // The identity named by one of a client certificate's `names`, or null.
  const Principal* FindIdentity(const std::vector<std::string>& names) const;
  // The quota of `ns`: its own entry, else the "*" entry, else none.
  Quota QuotaOf(std::string_view ns) const;
  bool has_quotas() const { return !quotas_.empty(); }

  size_t key_count() const { return keys_.size(); }
  size_t identity_count() const { return identities_.size(); }

 private:
  absl::flat_hash_map<std::string, Principal> keys_;        // by raw 32-byte digest
  absl::flat_hash_map<std::string, Principal> identities_;  // by certificate name
  absl::flat_hash_map<std::string, Quota> quotas_;          // by namespace, "*" for the rest
};

// A key's SHA-256 in hex, as the access file holds it.
std::string KeySha256Hex(std::string_view key);

}  // namespace hotpath::auth
