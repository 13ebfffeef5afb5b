// Hash: a field -> value map stored under one key (session attributes, per-user records).
//
// Two encodings, as Redis uses listpack and hashtable:
//   - compact (while at most kCompactMaxEntries fields, each field and value at most
//     kCompactMaxBytes): one heap buffer of [varint field length][field][varint value length]
//     [value] entries, searched linearly. A 4-field session costs its bytes plus about 40.
//   - table: an absl::flat_hash_map<std::string, std::string>, O(1) per field.
// A hash converts to a table when it outgrows the compact limits and never converts back (as in
// Redis), so a hash that was once large does not flip between encodings.
//
// Complexity: compact O(fields) per operation with a small constant; table O(1) expected.
// Thread safety: none; the owning shard's lock guards every call.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/key.h"

namespace hotpath {

class Hash {
 public:
  static constexpr size_t kCompactMaxEntries = 128;
  static constexpr size_t kCompactMaxBytes = 64;
  static constexpr size_t kMaxFieldBytes = 64 * 1024;
  static constexpr size_t kMaxValueBytes = hotpath::kMaxValueBytes;

  // InvalidArgument naming the field or value that is empty or too long.
  static absl::Status Validate(std::string_view field, std::string_view value);

  // Sets a field (arguments must pass Validate; they may be views into this hash). Returns true
  // if the field is new.
  bool Set(std::string_view field, std::string_view value);
  // The value, valid until the next mutation.
  std::optional<std::string_view> Get(std::string_view field) const;
  // Returns whether the field existed.
  bool Delete(std::string_view field);
  // Adds `delta` to a field holding a canonical decimal int64 (absent counts as 0).
  // FailedPrecondition if the value is not an integer, OutOfRange on overflow.
  absl::StatusOr<int64_t> IncrementBy(std::string_view field, int64_t delta);

  size_t size() const { return size_; }
  bool compact() const { return std::holds_alternative<std::string>(data_); }
  // Bytes held beyond sizeof(Hash): the buffer, or the table with its strings. O(1).
  size_t HeapBytes() const;

  // Calls visit(field, value) for every field, in no particular order.
  template <typename Visit>
  void ForEach(Visit visit) const {
    if (const auto* buffer = std::get_if<std::string>(&data_)) {
      for (size_t at = 0; at < buffer->size();) {
        const Entry e = Decode(*buffer, at);
        visit(e.field, e.value);
        at = e.end;
      }
      return;
    }
    for (const auto& [field, value] : std::get<Table>(data_)) visit(field, value);
  }

 private:
  using Table = absl::flat_hash_map<std::string, std::string>;
  struct Entry {
    std::string_view field;
    std::string_view value;
    size_t begin = 0;  // offset of the entry in the buffer
    size_t end = 0;    // offset just past it
  };

  static Entry Decode(const std::string& buffer, size_t at);
  static void Append(std::string& buffer, std::string_view field, std::string_view value);
  // The compact entry for `field`, if any.
  std::optional<Entry> FindCompact(std::string_view field) const;
  void ConvertToTable();

  std::variant<std::string, Table> data_;
  size_t size_ = 0;
  size_t table_string_bytes_ = 0;  // heap bytes of the table's field and value strings
};

}  // namespace hotpath
