#include "engine/slot.h"

#include <array>
#include <string>
#include <vector>

#include "engine/common/check.h"

namespace hotpath {
namespace {

constexpr std::array<uint16_t, 256> MakeCrc16Table() {
  std::array<uint16_t, 256> table{};
  for (uint32_t byte = 0; byte < 256; ++byte) {
    uint16_t crc = static_cast<uint16_t>(byte << 8);
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc & 0x8000) ? static_cast<uint16_t>((crc << 1) ^ 0x1021)
                           : static_cast<uint16_t>(crc << 1);
    }
    table[byte] = crc;
  }
  return table;
}

constexpr std::array<uint16_t, 256> kCrc16Table = MakeCrc16Table();

}  // namespace

uint16_t Crc16(std::string_view data) {
  uint16_t crc = 0;
  for (unsigned char c : data) {
    crc = static_cast<uint16_t>((crc << 8) ^ kCrc16Table[((crc >> 8) ^ c) & 0xff]);
  }
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
