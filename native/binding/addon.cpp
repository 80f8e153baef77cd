// Registers the exported functions; each lives in its own file under binding/.
#include <napi.h>

namespace sx {
Napi::Value BinFrame(const Napi::CallbackInfo& info);
Napi::Value PeakFinder8(const Napi::CallbackInfo& info);
Napi::Value QuantizeFrame(const Napi::CallbackInfo& info);
Napi::Value DequantizeFrame(const Napi::CallbackInfo& info);
Napi::Value EncodePeakBoxes(const Napi::CallbackInfo& info);
Napi::Value Bitshuffle(const Napi::CallbackInfo& info);
Napi::Value BitshuffleLz4Encode(const Napi::CallbackInfo& info);
Napi::Value BitshuffleLz4Decode(const Napi::CallbackInfo& info);
Napi::Value ZstdCompress(const Napi::CallbackInfo& info);
Napi::Value ZstdDecompress(const Napi::CallbackInfo& info);
Napi::Value BloscCompress(const Napi::CallbackInfo& info);
Napi::Value BloscDecompress(const Napi::CallbackInfo& info);
}

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("binFrame", Napi::Function::New(env, sx::BinFrame, "binFrame"));
  exports.Set("peakfinder8", Napi::Function::New(env, sx::PeakFinder8, "peakfinder8"));
  exports.Set("quantizeFrame", Napi::Function::New(env, sx::QuantizeFrame, "quantizeFrame"));
  exports.Set("dequantizeFrame", Napi::Function::New(env, sx::DequantizeFrame, "dequantizeFrame"));
  exports.Set("encodePeakBoxes", Napi::Function::New(env, sx::EncodePeakBoxes, "encodePeakBoxes"));
  exports.Set("bitshuffle", Napi::Function::New(env, sx::Bitshuffle, "bitshuffle"));
  exports.Set("bitshuffleLz4Encode", Napi::Function::New(env, sx::BitshuffleLz4Encode, "bitshuffleLz4Encode"));
  exports.Set("bitshuffleLz4Decode", Napi::Function::New(env, sx::BitshuffleLz4Decode, "bitshuffleLz4Decode"));
  exports.Set("zstdCompress", Napi::Function::New(env, sx::ZstdCompress, "zstdCompress"));
  exports.Set("zstdDecompress", Napi::Function::New(env, sx::ZstdDecompress, "zstdDecompress"));
  exports.Set("bloscCompress", Napi::Function::New(env, sx::BloscCompress, "bloscCompress"));
  exports.Set("bloscDecompress", Napi::Function::New(env, sx::BloscDecompress, "bloscDecompress"));
  return exports;
}

}  // namespace

NODE_API_MODULE(sxnative, Init)
