// Test helper: writes a real data directory the way hotpathd does, through the Store, so tests
// of hotpathd and hotpath-check start from files in the real format.
#pragma once

#include <functional>
#include <string>

#include "absl/synchronization/notification.h"
#include "engine/keyspace.h"
#include "gtest/gtest.h"
#include "persistence/file_system.h"
#include "persistence/store.h"

namespace hotpath::testing {

// Opens `dir` (recovering what it holds), runs fill(keyspace), rewrites if asked (so the
// directory gets a base snapshot), runs then_fill, and closes with everything synced.
inline void WriteDataDir(const std::string& dir, uint32_t shards,
                         const std::function<void(Keyspace&)>& fill, bool rewrite = false,
                         const std::function<void(Keyspace&)>& then_fill = nullptr) {
  auto store =
      Store::Open(PosixFileSystem(),
                  {.dir = dir, .shards = shards, .writer = {.fsync = FsyncPolicy::kAlways}})
          .value();
  auto keyspace = Keyspace::Create({.shards = shards}, SystemClock::Get(), store.get()).value();
  ASSERT_TRUE(store->Recover(keyspace.get()).ok());
  fill(*keyspace);
  if (rewrite) {
    // Durable first, so the rewrite always rotates to a new segment (a rewrite keeps a last
    // segment that is still empty) and the file names are the same on every run.
    absl::Notification durable;
    store->WhenDurable([&](absl::Status) { durable.Notify(); });
    ASSERT_TRUE(durable.WaitForNotificationWithTimeout(absl::Seconds(60)));
    absl::Notification done;
    store->RequestRewrite([&](absl::Status status) {
      EXPECT_TRUE(status.ok()) << status;
      done.Notify();
    });
    ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(60)));
  }
  if (then_fill) then_fill(*keyspace);
  ASSERT_TRUE(store->Close().ok());
}

}  // namespace hotpath::testing
