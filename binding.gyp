{
  "targets": [
    {
      "target_name": "sha256_state",
      "sources": ["native/sha256-state.c"],
      "cflags": [
        "-O2",
        "-Wall",
        "-Wextra",
        "-Wno-deprecated-declarations"
      ]
    }
  ]
}
