{
  "targets": [
    {
      "target_name": "specter2_native",
      "sources": ["src/addon.cc", "src/matmul.cc", "src/elementwise.cc", "src/rows.cc", "src/transpose.cc", "src/onednn.cc", "src/reduced.cc"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-O3", "-fexceptions"],
      "libraries": ["-ldnnl"],
      "conditions": [
        # -z nodelete: the addon (and so libdnnl and libgomp) stays loaded when the worker that loaded it
        # ends; unloading it under that worker's OpenMP threads crashed the process (src/addon.cc, pinInMemory).
        ["OS=='linux'", {"cflags_cc": ["-fopenmp"], "ldflags": ["-fopenmp", "-Wl,-z,nodelete"]}],
        ["OS=='mac'", {
          "include_dirs": ["<!@(brew --prefix onednn 2>/dev/null || echo /usr/local)/include"],
          "libraries": ["-L<!@(brew --prefix onednn 2>/dev/null || echo /usr/local)/lib"],
          "xcode_settings": {"GCC_ENABLE_CPP_EXCEPTIONS": "YES", "CLANG_CXX_LANGUAGE_STANDARD": "c++17"}
        }]
      ]
    }
  ]
}
