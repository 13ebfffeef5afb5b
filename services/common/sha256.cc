#include "services/common/sha256.h"

#include <openssl/evp.h>

#include <cstdlib>

namespace hotpath {
namespace {

const EVP_MD* Algorithm() {
  // Fetched once and kept for the process's life; EVP_Digest may share it between threads.
  static const EVP_MD* const md = [] {
    const EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (fetched == nullptr) std::abort();  // libcrypto without SHA-256: nothing can work
    return fetched;
  }();
  return md;
}

}  // namespace

Sha256Digest Sha256(std::string_view text) {
  Sha256Digest digest;
  unsigned int size = 0;
  if (EVP_Digest(text.data(), text.size(), digest.data(), &size, Algorithm(), nullptr) != 1 ||
      size != digest.size()) {
    std::abort();  // cannot fail for SHA-256 short of memory exhaustion
  }
  return digest;
}

}  // namespace hotpath
