#include "engine/thread_name.h"

#include <pthread.h>

#include <string>
#include <thread>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace hotpath {

namespace {

// The name a thread started by NamedThread carries as soon as NamedThread returns, read while
// the thread is still running (it waits until the name has been read).
std::string NameOf(const char* wanted) {
  absl::Notification read;
  std::thread thread = NamedThread(wanted, [&read] { read.WaitForNotification(); });
  char name[16] = {};
  pthread_getname_np(thread.native_handle(), name, sizeof(name));
  read.Notify();
  thread.join();
  return name;
}

TEST(ThreadNameTest, TheThreadCarriesItsNameOnceStartedAndLongNamesAreCut) {
  EXPECT_EQ(NameOf("hp-aof-writer"), "hp-aof-writer");
  // Linux keeps 15 characters; a longer name is cut rather than refused.
  EXPECT_EQ(NameOf("hp-a-very-long-thread-name"), "hp-a-very-long-");
}

}  // namespace
}  // namespace hotpath
