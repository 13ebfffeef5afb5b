#include "engine/thread_name.h"

#include <pthread.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

namespace hotpath {

std::thread NamedThread(const char* name, std::function<void()> body) {
  // pthread_setname_np refuses names over 15 characters (plus the terminator) outright.
  const std::string cut(name, std::min<size_t>(std::strlen(name), 15));
  std::thread thread(std::move(body));
  // Named by its creator, so the name is there once this returns, even before the new thread
  // first runs (which, under SCHED_BATCH or SCHED_IDLE on a busy core, may be a while).
  pthread_setname_np(thread.native_handle(), cut.c_str());
  return thread;
}

}  // namespace hotpath
