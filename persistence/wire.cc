#include "persistence/wire.h"

namespace hotpath {

void PutSmallValue(std::string& out, const Value& value) {
  switch (value.type()) {
    case ValueType::kString:
      PutU8(out, kWireString);
      PutBytes(out, value.string());
      return;
    case ValueType::kCounter:
      PutU8(out, kWireCounter);
      PutZigzag(out, value.counter());
      return;
    default:
      PutU8(out, kWireLimiter);
      PutU8(out, value.limiter().algorithm);
      for (int64_t slot : value.limiter().slots) PutZigzag(out, slot);
      return;
  }
}

bool GetSmallValue(WireReader& in, Value* value) {
  uint8_t type = 0;
  return in.U8(&type) && GetSmallValueBody(in, type, value);
}

bool GetSmallValueBody(WireReader& in, uint8_t type, Value* value) {
  switch (type) {
    case kWireString: {
      std::string bytes;
      if (!in.Bytes(&bytes)) return false;
      *value = Value::String(std::move(bytes));
      return true;
    }
    case kWireCounter: {
      int64_t count = 0;
      if (!in.Zigzag(&count)) return false;
      *value = Value::Counter(count);
      return true;
    }
    case kWireLimiter: {
      LimiterState state;
      if (!in.U8(&state.algorithm)) return false;
      for (int64_t& slot : state.slots) {
        if (!in.Zigzag(&slot)) return false;
      }
      *value = Value::Limiter(state);
      return true;
    }
    default:
      return false;
  }
}

void PutZsetOptions(std::string& out, const SortedSetOptions& options) {
  PutU8(out, (options.score_order == ScoreOrder::kDescending ? 1 : 0) |
                 (options.ties == TieOrder::kMemberName ? 2 : 0));
}

bool GetZsetOptions(WireReader& in, SortedSetOptions* options) {
  uint8_t bits = 0;
  if (!in.U8(&bits) || bits > 3) return false;
  options->score_order = (bits & 1) ? ScoreOrder::kDescending : ScoreOrder::kAscending;
  options->ties = (bits & 2) ? TieOrder::kMemberName : TieOrder::kEarlierFirst;
  return true;
}

}  // namespace hotpath
