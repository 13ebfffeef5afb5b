// Hash slots: how a key finds its shard, now and in a later cluster mode.
//
// Every key maps to one of 16384 slots exactly as in Redis Cluster: CRC16 (XMODEM) of the key,
// modulo 16384. If the key contains a `{tag}` with a non-empty tag, only the tag is hashed, so
// related keys ("{user:42}:sessions", "{user:42}:s:abc") share a slot and therefore a shard.
// Shards own contiguous ranges of slots; a cluster mode can later move slots between nodes
// without changing the key model. The namespace is not hashed: it is part of a key's identity
// (see key.h), not of its placement.
#pragma once

#include <cstdint>
#include <string_view>

namespace hotpath {

inline constexpr uint32_t kSlotCount = 16384;

// CRC16-CCITT (XMODEM): polynomial 0x1021, initial value 0, as Redis Cluster uses.
uint16_t Crc16(std::string_view data);

// The part of `key` that is hashed: the first `{...}` with something inside it, else the key.
std::string_view HashTag(std::string_view key);

// The slot of `key`, in [0, kSlotCount).
inline uint32_t KeySlot(std::string_view key) { return Crc16(HashTag(key)) & (kSlotCount - 1); }

// A short tag (1 to 4 URL-safe characters, no braces) whose slot is `slot` (< kSlotCount):
// "{" + SlotTag(s) + "}..." lands in slot s. For keys placed by a slot found elsewhere (a
// session token carries its user's slot). The table is built once, on first use (~10 ms).
std::string_view SlotTag(uint32_t slot);

}  // namespace hotpath
