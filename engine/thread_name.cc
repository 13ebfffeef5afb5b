#include "engine/thread_name.h"

#include <pthread.h>

#include <algorithm>
#include <cstring>
#include <string>

namespace hotpath {

void NameThisThread(const char* name) {
  // pthread_setname_np refuses names over 15 characters (plus the terminator) outright.
  const std::string cut(name, std::min<size_t>(std::strlen(name), 15));
  pthread_setname_np(pthread_self(), cut.c_str());
}

}  // namespace hotpath
