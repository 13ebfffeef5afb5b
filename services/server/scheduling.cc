#include "services/server/scheduling.h"

#include <dirent.h>
#include <errno.h>
#include <sched.h>

#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace hotpath {
namespace {

// Whether a thread's Linux policy (SCHED_RESET_ON_FORK masked off) is one an operator chose,
// which ApplySchedulingPolicy leaves alone: anything but SCHED_OTHER and SCHED_BATCH.
bool ChosenByOperator(int linux_policy) {
  return linux_policy != SCHED_OTHER && linux_policy != SCHED_BATCH;
}

}  // namespace

absl::StatusOr<SchedulingPolicy> ParseSchedulingPolicy(std::string_view name) {
  if (name == "batch") return SchedulingPolicy::kBatch;
  if (name == "normal") return SchedulingPolicy::kNormal;
  return absl::InvalidArgumentError(absl::StrCat(
      "expected batch or normal, got \"", absl::string_view(name.data(), name.size()), "\""));
}

const char* SchedulingPolicyName(SchedulingPolicy policy) {
  return policy == SchedulingPolicy::kBatch ? "batch" : "normal";
}

absl::Status ApplySchedulingPolicy(SchedulingPolicy policy) {
  const int linux_policy = policy == SchedulingPolicy::kBatch ? SCHED_BATCH : SCHED_OTHER;
  const sched_param param{};  // both policies take priority 0
  // Each thread has its own policy, so every one that already exists is changed; the ones
  // created later inherit their creator's.
  DIR* tasks = opendir("/proc/self/task");
  if (tasks == nullptr) {
    return absl::InternalError(absl::StrCat("cannot list /proc/self/task: ", std::strerror(errno)));
  }
  absl::Status first_error;
  while (const dirent* task = readdir(tasks)) {
    pid_t tid = 0;
    if (!absl::SimpleAtoi(task->d_name, &tid)) continue;  // "." and ".."
    const int current = sched_getscheduler(tid) & ~SCHED_RESET_ON_FORK;
    if (ChosenByOperator(current)) continue;
    // ESRCH: the thread ended meanwhile.
    if (sched_setscheduler(tid, linux_policy, &param) != 0 && errno != ESRCH && first_error.ok()) {
      first_error = absl::InternalError(absl::StrCat("sched_setscheduler(thread ", tid, ", ",
                                                     SchedulingPolicyName(policy),
                                                     "): ", std::strerror(errno)));
    }
  }
  closedir(tasks);
  return first_error;
}

std::optional<std::string> KeptSchedulingPolicy() {
  const int current = sched_getscheduler(0);
  if (current < 0) return std::nullopt;  // unknown: ApplySchedulingPolicy reports any error
  const int linux_policy = current & ~SCHED_RESET_ON_FORK;
  if (!ChosenByOperator(linux_policy)) return std::nullopt;
  switch (linux_policy) {
    case SCHED_FIFO:
      return "fifo";
    case SCHED_RR:
      return "rr";
    case SCHED_IDLE:
      return "idle";
    default:
      return "deadline";
  }
}

}  // namespace hotpath
