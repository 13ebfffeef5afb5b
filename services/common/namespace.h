// The namespace (tenant) a request names; an empty one means the default namespace.
#pragma once

#include <string>

#include "engine/key.h"

namespace hotpath {

inline std::string NamespaceOf(const std::string& ns) {
  return std::string(NamespaceOrDefault(ns));
}

}  // namespace hotpath
