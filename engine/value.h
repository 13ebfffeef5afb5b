// Typed values stored under a key.
//
//   string     bytes
//   counter    an int64 kept natively, so increments need no parsing; read as a string it is
//              rendered in decimal, as Redis does for integer strings
//   limiter    LimiterState, 32 bytes inline
//   hash       Hash (engine/hash/hash.h), owned on the heap
//   sorted set SortedSet (engine/zset/sorted_set.h), owned on the heap
//   stream     Stream (engine/stream/stream.h), owned on the heap
//
// A Value owns what it holds and is move-only; SmallCopy() copies the inline kinds (string,
// counter, limiter), which are the ones after-image records carry whole.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <variant>

#include "engine/common/string_bytes.h"
#include "engine/hash/hash.h"
#include "engine/limiter_state.h"
#include "engine/stream/stream.h"
#include "engine/zset/sorted_set.h"

namespace hotpath {

enum class ValueType : uint8_t { kString, kCounter, kLimiter, kHash, kSortedSet, kStream };
inline constexpr size_t kValueTypes = 6;

const char* ValueTypeName(ValueType type);

class Value {
 public:
  static Value String(std::string bytes) { return Value(Data(std::move(bytes))); }
  static Value Counter(int64_t count) { return Value(Data(count)); }
  static Value Limiter(const LimiterState& state) { return Value(Data(state)); }
  static Value NewHash() { return Value(Data(std::make_unique<Hash>())); }
  static Value NewSortedSet(const SortedSetOptions& options) {
    return Value(Data(std::make_unique<SortedSet>(options)));
  }
  static Value NewStream() { return Value(Data(std::make_unique<Stream>())); }
  // Adopts a built sorted set or stream (snapshot loading).
  static Value Of(std::unique_ptr<SortedSet> set) { return Value(Data(std::move(set))); }
  static Value Of(std::unique_ptr<Stream> stream) { return Value(Data(std::move(stream))); }
  static Value Of(std::unique_ptr<Hash> hash) { return Value(Data(std::move(hash))); }

  ValueType type() const { return static_cast<ValueType>(data_.index()); }
  const std::string& string() const { return std::get<std::string>(data_); }
  int64_t counter() const { return std::get<int64_t>(data_); }
  const LimiterState& limiter() const { return std::get<LimiterState>(data_); }
  LimiterState& mutable_limiter() { return std::get<LimiterState>(data_); }
  Hash& hash() const { return *std::get<std::unique_ptr<Hash>>(data_); }
  SortedSet& sorted_set() const { return *std::get<std::unique_ptr<SortedSet>>(data_); }
  Stream& stream() const { return *std::get<std::unique_ptr<Stream>>(data_); }

  // Whether the value is one of the inline kinds that SmallCopy and operator== handle.
  bool small() const { return type() <= ValueType::kLimiter; }
  // A copy of a small value.
  Value SmallCopy() const;

  // Heap bytes owned beyond sizeof(Value), for memory accounting. O(1).
  size_t HeapBytes() const;

  // Equality of small values; values of other kinds compare by identity.
  friend bool operator==(const Value& a, const Value& b) { return a.data_ == b.data_; }

 private:
  // Alternative order matches ValueType.
  using Data = std::variant<std::string, int64_t, LimiterState, std::unique_ptr<Hash>,
                            std::unique_ptr<SortedSet>, std::unique_ptr<Stream>>;
  explicit Value(Data data) : data_(std::move(data)) {}

  Data data_;
};

}  // namespace hotpath
