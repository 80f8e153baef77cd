{
  "targets": [
    {
      "target_name": "sxnative",
      "sources": [
        "binding/addon.cpp",
        "binding/codecs.cpp",
        "binding/binning.cpp",
        "binding/peakfinder8.cpp",
        "binding/reduce.cpp",
        "kernels/binning.cpp",
        "kernels/bitshuffle.cpp",
        "kernels/peakfinder8.cpp",
        "kernels/quantize.cpp",
        "kernels/peak-boxes.cpp"
      ],
      # The lossless codecs link the system compression libraries (liblz4-dev, libzstd-dev, libblosc-dev).
      "libraries": ["-llz4", "-lzstd", "-lblosc"],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")"
      ],
      # NAPI_VERSION is pinned so the addon only uses the ABI-stable API of Node >= 20.
      "defines": [
        "NAPI_VERSION=8",
        "NODE_ADDON_API_CPP_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED"
      ],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      # No FMA contraction: the kernels' results must equal their TypeScript references bit for
      # bit, and JS rounds every multiply and add.
      "cflags_cc": ["-std=c++17", "-O3", "-ffp-contract=off"],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
        "GCC_OPTIMIZATION_LEVEL": "3",
        "OTHER_CPLUSPLUSFLAGS": ["-ffp-contract=off"]
      },
      "msvs_settings": {
        "VCCLCompilerTool": {
          "ExceptionHandling": 1,
          "AdditionalOptions": ["/std:c++17"]
        }
      }
    }
  ]
}
