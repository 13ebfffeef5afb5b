// ArenaAllocator: puts a unary callback method's request and response on a protobuf arena.
//
// Without it every sub-message of a call (a batch's checks, each result's Durations) is its
// own heap allocation and free. With it they come from one arena whose first block lives in
// the holder itself, and everything goes at once when gRPC releases the call.
//
//   static ArenaAllocator<v1::CheckRequest, v1::CheckResponse> allocator;
//   service.SetMessageAllocatorFor_Check(&allocator);
//
// Thread safety: AllocateMessages may be called from any thread (it shares no state).
// The allocator must outlive the server (gRPC's MessageAllocator contract).
#pragma once

#include <cstddef>

#include "google/protobuf/arena.h"
#include "grpcpp/support/message_allocator.h"

namespace hotpath {

template <typename Request, typename Response>
class ArenaAllocator final : public grpc::MessageAllocator<Request, Response> {
 public:
  grpc::MessageHolder<Request, Response>* AllocateMessages() override { return new Holder(); }

 private:
  // Enough for a small call's messages without touching the heap again.
  static constexpr size_t kInitialBlockBytes = 1024;

  class Holder final : public grpc::MessageHolder<Request, Response> {
   public:
    Holder() : arena_(Options(initial_block_)) {
      this->set_request(google::protobuf::Arena::CreateMessage<Request>(&arena_));
      this->set_response(google::protobuf::Arena::CreateMessage<Response>(&arena_));
    }
    void Release() override { delete this; }

   private:
    static google::protobuf::ArenaOptions Options(char* block) {
      google::protobuf::ArenaOptions options;
      options.initial_block = block;
      options.initial_block_size = kInitialBlockBytes;
      return options;
    }

    alignas(std::max_align_t) char initial_block_[kInitialBlockBytes];
    google::protobuf::Arena arena_;  // after the block it starts in
  };
};

}  // namespace hotpath
