#include "engine/thread_name.h"

#include <pthread.h>

#include <string>
#include <thread>

#include "gtest/gtest.h"

namespace hotpath {
namespace {

std::string NameIn(const char* wanted) {
  std::string seen;
  NamedThread(wanted, [&] {
    char name[16] = {};
    pthread_getname_np(pthread_self(), name, sizeof(name));
    seen = name;
  }).join();
  return seen;
}

TEST(ThreadNameTest, TheThreadCarriesItsNameAndLongNamesAreCut) {
  EXPECT_EQ(NameIn("hp-aof-writer"), "hp-aof-writer");
  // Linux keeps 15 characters; a longer name is cut rather than refused.
  EXPECT_EQ(NameIn("hp-a-very-long-thread-name"), "hp-a-very-long-");
}

}  // namespace
}  // namespace hotpath
