// Threads that carry a name, so `top -H`, perf and gdb tell hotpathd's threads apart (the
// writer, the sweeper, ...) instead of showing "hotpathd" for each.
#pragma once

#include <functional>
#include <thread>

namespace hotpath {

// Starts a thread that names itself `name` (Linux keeps 15 characters; longer names are cut)
// and runs `body`. Naming is best effort: a failure leaves the inherited name.
std::thread NamedThread(const char* name, std::function<void()> body);

}  // namespace hotpath
