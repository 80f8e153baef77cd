// Registers the exported functions; each lives in its own file under binding/.
#include <napi.h>

namespace sx {
Napi::Value BinFrame(const Napi::CallbackInfo& info);
Napi::Value PeakFinder8(const Napi::CallbackInfo& info);
}

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("binFrame", Napi::Function::New(env, sx::BinFrame, "binFrame"));
  exports.Set("peakfinder8", Napi::Function::New(env, sx::PeakFinder8, "peakfinder8"));
  return exports;
}

}  // namespace

NODE_API_MODULE(sxnative, Init)
