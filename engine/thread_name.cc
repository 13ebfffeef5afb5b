#include "engine/thread_name.h"

#include <pthread.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

namespace hotpath {

std::thread NamedThread(const char* name, std::function<void()> body) {
  // pthread_setname_np refuses names over 15 characters (plus the terminator) outright.
  std::string cut(name, std::min<size_t>(std::strlen(name), 15));
  return std::thread([cut = std::move(cut), body = std::move(body)] {
    pthread_setname_np(pthread_self(), cut.c_str());
    body();
  });
}

}  // namespace hotpath
