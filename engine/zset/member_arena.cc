#include "engine/zset/member_arena.h"

#include "engine/common/check.h"

namespace hotpath {

size_t MemberArena::RecordBytes(size_t name_bytes) {
  const size_t length_bytes = name_bytes < 128 ? 1 : 2;
  return (16 + length_bytes + name_bytes + 3) & ~size_t{3};
}

MemberArena::Id MemberArena::Add(std::string_view name, int64_t score, uint64_t tiebreak) {
  HP_DCHECK(name.size() <= kMaxNameBytes);
  HP_DCHECK(!full());
  const size_t bytes = RecordBytes(name.size());
  if (tail_ + bytes > kChunkBytes) {
    chunks_.emplace_back(new char[kChunkBytes]());
    shared_.push_back(false);
    tail_ = 0;
  }
  const Id id = static_cast<Id>(((chunks_.size() - 1) << kOffsetBits) | (tail_ >> 2));
  tail_ += bytes;
  live_bytes_ += bytes;
  // Past every record a sharing arena can read: no copy needed (see the header).
  char* record = At(id);
  WriteOrder(record, score, tiebreak);
  // Length: one byte below 128, else two (high bit set on the first).
  char* p = record + 16;
  if (name.size() < 128) {
    *p++ = static_cast<char>(name.size());
  } else {
    *p++ = static_cast<char>(0x80 | (name.size() >> 8));
    *p++ = static_cast<char>(name.size() & 0xff);
  }
  std::memcpy(p, name.data(), name.size());
  return id;
}

std::string_view MemberArena::name(Id id) const {
  const auto* p = reinterpret_cast<const unsigned char*>(At(id) + 16);
  size_t length = p[0];
  if (length & 0x80) {
    length = ((length & 0x7f) << 8) | p[1];
    return {reinterpret_cast<const char*>(p + 2), length};
  }
  return {reinterpret_cast<const char*>(p + 1), length};
}

void MemberArena::Remove(Id id) {
  const size_t bytes = RecordBytes(name(id).size());
  live_bytes_ -= bytes;
  dead_bytes_ += bytes;
}

MemberArena MemberArena::Share() const {
  if (sharers_ == nullptr) sharers_ = std::make_shared<std::atomic<int>>(0);
  sharers_->fetch_add(1, std::memory_order_relaxed);  // under the owner's lock, like every write
  MemberArena image;
  image.chunks_ = chunks_;
  image.shared_.assign(chunks_.size(), false);  // never written: nothing to copy for
  image.lease_ = std::shared_ptr<void>(
      nullptr, [sharers = sharers_](void*) { sharers->fetch_sub(1, std::memory_order_release); });
  image.tail_ = tail_;
  image.live_bytes_ = live_bytes_;
  image.dead_bytes_ = dead_bytes_;
  shared_.assign(chunks_.size(), true);
  return image;
}

char* MemberArena::Writable(Id id) {
  const size_t chunk = id >> kOffsetBits;
  if (!shared_[chunk]) return At(id);
  if (sharers_->load(std::memory_order_acquire) == 0) {
    // Every shared arena is gone, and its reads happened before (release/acquire on the count):
    // the chunks are this arena's alone.
    shared_.assign(shared_.size(), false);
    return At(id);
  }
  // Not value-initialised: the used bytes are copied, and nothing reads past them.
  std::shared_ptr<char[]> own(new char[kChunkBytes]);
  const size_t used = chunk + 1 == chunks_.size() ? tail_ : kChunkBytes;
  std::memcpy(own.get(), chunks_[chunk].get(), used);
  chunks_[chunk] = std::move(own);
  shared_[chunk] = false;
  return At(id);
}

size_t MemberArena::MemoryBytes() const {
  return chunks_.size() * kChunkBytes + chunks_.capacity() * sizeof(chunks_[0]) +
         shared_.capacity() / 8;
}

}  // namespace hotpath
