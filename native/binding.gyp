{
  "targets": [
    {
      "target_name": "sxnative",
      "sources": [
        "binding/addon.cpp",
        "binding/codecs.cpp",
        "binding/binning.cpp",
        "binding/peakfinder8.cpp",
        "binding/pixel-map.cpp",
        "binding/reduce.cpp",
        "binding/hdf5.cpp",
        "io/h5-chunks.cpp",
        "kernels/binning.cpp",
        "kernels/bitshuffle.cpp",
        "kernels/peakfinder8.cpp",
        "kernels/peakfinder8-plan.cpp",
        "kernels/pixel-map.cpp",
        "kernels/quantize.cpp",
        "kernels/peak-boxes.cpp"
      ],
      # The lossless codecs link the system compression libraries (liblz4-dev, libzstd-dev, libblosc-dev);
      # direct chunk I/O links the system libhdf5 (libhdf5-dev). Without pkg-config, Debian keeps
      # the serial HDF5 under hdf5/serial and names it hdf5_serial; elsewhere it is plain hdf5.
      "libraries": [
        "-llz4", "-lzstd", "-lblosc",
        "<!@(if pkg-config --exists hdf5 2>/dev/null; then pkg-config --libs hdf5; elif test -d /usr/include/hdf5/serial; then echo -lhdf5_serial; else echo -lhdf5; fi)"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!@(if pkg-config --exists hdf5 2>/dev/null; then pkg-config --cflags-only-I hdf5 | sed -e 's/^-I//' -e 's/ -I/ /g'; elif test -d /usr/include/hdf5/serial; then echo /usr/include/hdf5/serial; fi)"
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
      "cflags_cc": ["-std=c++17", "-O3", "-ffp-contract=off", "-fno-math-errno"],
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
