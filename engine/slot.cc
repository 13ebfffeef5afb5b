#include "engine/slot.h"

#include <array>
#include <string>
#include <vector>

#include "engine/common/check.h"

namespace hotpath {
namespace {

// kCrc16Tables[0] is the usual byte-at-a-time table; kCrc16Tables[k][b] is the CRC of byte b
// followed by k zero bytes. CRCs are linear over XOR, so eight bytes fold in as eight
// independent lookups (slicing-by-8) instead of a chain of eight dependent ones.
using Crc16Tables = std::array<std::array<uint16_t, 256>, 8>;

constexpr Crc16Tables MakeCrc16Tables() {
  Crc16Tables tables{};
  for (uint32_t byte = 0; byte < 256; ++byte) {
    uint16_t crc = static_cast<uint16_t>(byte << 8);
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc & 0x8000) ? static_cast<uint16_t>((crc << 1) ^ 0x1021)
                           : static_cast<uint16_t>(crc << 1);
    }
    tables[0][byte] = crc;
  }
  for (size_t k = 1; k < tables.size(); ++k) {
    for (uint32_t byte = 0; byte < 256; ++byte) {
      const uint16_t prev = tables[k - 1][byte];
      tables[k][byte] = static_cast<uint16_t>((prev << 8) ^ tables[0][prev >> 8]);
    }
  }
  return tables;
}

constexpr Crc16Tables kCrc16Tables = MakeCrc16Tables();

}  // namespace

uint16_t Crc16(std::string_view data) {
  const auto& t = kCrc16Tables;
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  size_t n = data.size();
  uint16_t crc = 0;
  for (; n >= 8; p += 8, n -= 8) {
    crc = static_cast<uint16_t>(t[7][(crc >> 8) ^ p[0]] ^ t[6][(crc & 0xff) ^ p[1]] ^ t[5][p[2]] ^
                                t[4][p[3]] ^ t[3][p[4]] ^ t[2][p[5]] ^ t[1][p[6]] ^ t[0][p[7]]);
  }
  for (; n > 0; ++p, --n) crc = static_cast<uint16_t>((crc << 8) ^ t[0][((crc >> 8) ^ *p) & 0xff]);
  return crc;
}

std::string_view HashTag(std::string_view key) {
  const size_t open = key.find('{');
  if (open == std::string_view::npos) return key;
  const size_t close = key.find('}', open + 1);
  // "{}" or an unclosed brace: Redis hashes the whole key.
  if (close == std::string_view::npos || close == open + 1) return key;
  return key.substr(open + 1, close - open - 1);
}

std::string_view SlotTag(uint32_t slot) {
  static const std::vector<std::string>* const tags = [] {
    constexpr std::string_view kAlphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    auto* found = new std::vector<std::string>(kSlotCount);
    size_t missing = kSlotCount;
    // Shortest first: every string of length n over the alphabet, for n = 1, 2, ... until
    // every slot has one (three characters already cover nearly all of them).
    for (size_t length = 1; missing > 0 && length <= 4; ++length) {
      std::string tag(length, kAlphabet[0]);
      std::vector<size_t> digits(length, 0);
      while (true) {
        std::string& entry = (*found)[KeySlot(tag)];
        if (entry.empty()) {
          entry = tag;
          --missing;
        }
        size_t i = 0;
        while (i < length && ++digits[i] == kAlphabet.size()) digits[i++] = 0;
        if (i == length) break;
        for (size_t j = 0; j <= i && j < length; ++j) tag[j] = kAlphabet[digits[j]];
      }
    }
    HP_DCHECK(missing == 0);  // slot_test checks every slot
    return found;
  }();
  HP_DCHECK(slot < kSlotCount);
  return (*tags)[slot];
}

}  // namespace hotpath
