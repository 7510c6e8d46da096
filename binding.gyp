{
  "targets": [
    {
      "target_name": "fuse_uring",
      "sources": [
        "native/addon.c",
        "native/mount.c",
        "native/ring.c",
        "native/channel.c"
      ],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-std=gnu11"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
