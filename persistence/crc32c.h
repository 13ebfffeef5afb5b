// CRC32C (Castagnoli), the checksum of every persisted record and snapshot section.
//
// Chosen over CRC32 for its better error detection on storage and because x86-64 computes it
// in hardware (SSE4.2 `crc32`), which this uses when the CPU has it; otherwise a table.
// Masked() is LevelDB's trick for checksums stored next to the data they cover: a CRC of data
// that itself contains CRCs is otherwise prone to coincidental matches.
//
//   uint32_t crc = Crc32c(payload);
//   crc = Crc32cExtend(crc, more);   // the CRC of payload + more
#pragma once

#include <cstdint>
#include <string_view>

namespace hotpath {

uint32_t Crc32cExtend(uint32_t crc, std::string_view data);
inline uint32_t Crc32c(std::string_view data) { return Crc32cExtend(0, data); }

inline uint32_t Crc32cMask(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }
inline uint32_t Crc32cUnmask(uint32_t masked) {
  const uint32_t rotated = masked - 0xa282ead8u;
  return (rotated >> 17) | (rotated << 15);
}

}  // namespace hotpath
