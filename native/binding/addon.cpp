// Registers the exported functions; each lives in its own file under binding/.
#include <napi.h>

namespace sx {
Napi::Value BinFrame(const Napi::CallbackInfo& info);
Napi::Value BuildPixelMap(const Napi::CallbackInfo& info);
Napi::Value PeakFinder8(const Napi::CallbackInfo& info);
Napi::Value QuantizeFrame(const Napi::CallbackInfo& info);
Napi::Value DequantizeFrame(const Napi::CallbackInfo& info);
Napi::Value EncodePeakBoxes(const Napi::CallbackInfo& info);
Napi::Value Bitshuffle(const Napi::CallbackInfo& info);
Napi::Value BitshuffleLz4Encode(const Napi::CallbackInfo& info);
Napi::Value BitshuffleLz4Decode(const Napi::CallbackInfo& info);
Napi::Value SetBitshuffleIsa(const Napi::CallbackInfo& info);
Napi::Value ZstdCompress(const Napi::CallbackInfo& info);
Napi::Value ZstdDecompress(const Napi::CallbackInfo& info);
Napi::Value BloscCompress(const Napi::CallbackInfo& info);
Napi::Value BloscDecompress(const Napi::CallbackInfo& info);
Napi::Value H5OpenFile(const Napi::CallbackInfo& info);
Napi::Value H5CloseFile(const Napi::CallbackInfo& info);
Napi::Value H5OpenDataset(const Napi::CallbackInfo& info);
Napi::Value H5CloseDataset(const Napi::CallbackInfo& info);
Napi::Value H5DescribeDataset(const Napi::CallbackInfo& info);
Napi::Value H5ChunkBytes(const Napi::CallbackInfo& info);
Napi::Value H5ReadChunk(const Napi::CallbackInfo& info);
Napi::Value H5ReadFrames(const Napi::CallbackInfo& info);
Napi::Value H5ExtendFrames(const Napi::CallbackInfo& info);
Napi::Value H5WriteChunk(const Napi::CallbackInfo& info);
}

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("binFrame", Napi::Function::New(env, sx::BinFrame, "binFrame"));
  exports.Set("buildPixelMap", Napi::Function::New(env, sx::BuildPixelMap, "buildPixelMap"));
  exports.Set("peakfinder8", Napi::Function::New(env, sx::PeakFinder8, "peakfinder8"));
  exports.Set("quantizeFrame", Napi::Function::New(env, sx::QuantizeFrame, "quantizeFrame"));
  exports.Set("dequantizeFrame", Napi::Function::New(env, sx::DequantizeFrame, "dequantizeFrame"));
  exports.Set("encodePeakBoxes", Napi::Function::New(env, sx::EncodePeakBoxes, "encodePeakBoxes"));
  exports.Set("bitshuffle", Napi::Function::New(env, sx::Bitshuffle, "bitshuffle"));
  exports.Set("bitshuffleLz4Encode", Napi::Function::New(env, sx::BitshuffleLz4Encode, "bitshuffleLz4Encode"));
  exports.Set("bitshuffleLz4Decode", Napi::Function::New(env, sx::BitshuffleLz4Decode, "bitshuffleLz4Decode"));
  exports.Set("setBitshuffleIsa", Napi::Function::New(env, sx::SetBitshuffleIsa, "setBitshuffleIsa"));
  exports.Set("zstdCompress", Napi::Function::New(env, sx::ZstdCompress, "zstdCompress"));
  exports.Set("zstdDecompress", Napi::Function::New(env, sx::ZstdDecompress, "zstdDecompress"));
  exports.Set("bloscCompress", Napi::Function::New(env, sx::BloscCompress, "bloscCompress"));
  exports.Set("bloscDecompress", Napi::Function::New(env, sx::BloscDecompress, "bloscDecompress"));
  exports.Set("h5OpenFile", Napi::Function::New(env, sx::H5OpenFile, "h5OpenFile"));
  exports.Set("h5CloseFile", Napi::Function::New(env, sx::H5CloseFile, "h5CloseFile"));
  exports.Set("h5OpenDataset", Napi::Function::New(env, sx::H5OpenDataset, "h5OpenDataset"));
  exports.Set("h5CloseDataset", Napi::Function::New(env, sx::H5CloseDataset, "h5CloseDataset"));
  exports.Set("h5DescribeDataset", Napi::Function::New(env, sx::H5DescribeDataset, "h5DescribeDataset"));
  exports.Set("h5ChunkBytes", Napi::Function::New(env, sx::H5ChunkBytes, "h5ChunkBytes"));
  exports.Set("h5ReadChunk", Napi::Function::New(env, sx::H5ReadChunk, "h5ReadChunk"));
  exports.Set("h5ReadFrames", Napi::Function::New(env, sx::H5ReadFrames, "h5ReadFrames"));
  exports.Set("h5ExtendFrames", Napi::Function::New(env, sx::H5ExtendFrames, "h5ExtendFrames"));
  exports.Set("h5WriteChunk", Napi::Function::New(env, sx::H5WriteChunk, "h5WriteChunk"));
  return exports;
}

}  // namespace

NODE_API_MODULE(sxnative, Init)
