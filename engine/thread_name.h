// Names the calling thread, so `top -H`, perf and gdb tell hotpathd's threads apart (the
// writer, the sweeper, ...) instead of showing "hotpathd" for each. Linux keeps 15 characters;
// longer names are cut. Best effort: a failure leaves the old name and is not an error.
#pragma once

namespace hotpath {

void NameThisThread(const char* name);

}  // namespace hotpath
