// Byte encodings shared by the log and snapshot formats (docs/persistence.md): LEB128 varints,
// zigzag for signed values, length-prefixed bytes, stream IDs and little-endian fixed widths.
//
// Thread safety: the functions are pure; a WireReader belongs to one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/value.h"

namespace hotpath {

// --- Writing.
inline void PutU8(std::string& out, uint8_t v) { out.push_back(static_cast<char>(v)); }

inline void PutVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

inline void PutZigzag(std::string& out, int64_t v) {
  PutVarint(out, (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
}

inline void PutBytes(std::string& out, std::string_view bytes) {
  PutVarint(out, bytes.size());
  out.append(bytes);
}

inline void PutId(std::string& out, StreamId id) {
  PutVarint(out, id.ms);
  PutVarint(out, id.seq);
}

inline void PutU32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

inline void PutU64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// Fixed-width little-endian reads; `in` must hold the bytes at `at`.
inline uint32_t GetU32(std::string_view in, size_t at) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i)
    v |= static_cast<uint32_t>(static_cast<uint8_t>(in[at + i])) << (8 * i);
  return v;
}

inline uint64_t GetU64(std::string_view in, size_t at) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i)
    v |= static_cast<uint64_t>(static_cast<uint8_t>(in[at + i])) << (8 * i);
  return v;
}

// Reads the encodings above; every getter returns false, consuming nothing useful, at the end
// of the data or on a malformed value.
class WireReader {
 public:
  explicit WireReader(std::string_view data) : data_(data) {}

  bool U8(uint8_t* v) {
    if (at_ >= data_.size()) return false;
    *v = static_cast<uint8_t>(data_[at_++]);
    return true;
  }
  bool Varint(uint64_t* v) {
    *v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      uint8_t byte;
      if (!U8(&byte)) return false;
      if (shift == 63 && byte > 1) return false;  // more than 64 bits
      *v |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) return true;
    }
    return false;
  }
  bool Varint32(uint32_t* v) {
    uint64_t wide;
    if (!Varint(&wide) || wide > UINT32_MAX) return false;
    *v = static_cast<uint32_t>(wide);
    return true;
  }
  bool Zigzag(int64_t* v) {
    uint64_t raw;
    if (!Varint(&raw)) return false;
    *v = static_cast<int64_t>((raw >> 1) ^ (~(raw & 1) + 1));
    return true;
  }
  bool Bytes(std::string* out) {
    uint64_t size;
    if (!Varint(&size) || size > data_.size() - at_) return false;
    out->assign(data_.substr(at_, size));
    at_ += size;
    return true;
  }
  // Bytes without the copy: `out` views the reader's data.
  bool View(std::string_view* out) {
    uint64_t size;
    if (!Varint(&size) || size > data_.size() - at_) return false;
    *out = data_.substr(at_, size);
    at_ += size;
    return true;
  }
  bool Id(StreamId* id) { return Varint(&id->ms) && Varint(&id->seq); }
  bool done() const { return at_ == data_.size(); }
  size_t position() const { return at_; }

 private:
  std::string_view data_;
  size_t at_ = 0;
};

// Values. A small value (string, counter, limiter; value.h) is a type tag and its body:
//   0 string: bytes    1 counter: z count    2 limiter: u8 algorithm, z slot * 3
// Sorted-set options are one byte: bit 0 descending scores, bit 1 ties by member name.
enum WireValueType : uint8_t {
  kWireString = 0,
  kWireCounter = 1,
  kWireLimiter = 2,
  kWireHash = 3,       // snapshots only
  kWireSortedSet = 4,  // snapshots only
  kWireStream = 5,     // snapshots only
};

void PutSmallValue(std::string& out, const Value& value);
// Reads a tag and body; false for a malformed one or a tag that is not a small kind.
bool GetSmallValue(WireReader& in, Value* value);
// Reads the body of small value `type`, whose tag was already read.
bool GetSmallValueBody(WireReader& in, uint8_t type, Value* value);
void PutZsetOptions(std::string& out, const SortedSetOptions& options);
// False for unknown bits.
bool GetZsetOptions(WireReader& in, SortedSetOptions* options);

}  // namespace hotpath
