{
  "targets": [
    {
      "target_name": "fuse_uring",
      "sources": [
        "native/addon.c",
        "native/mount.c",
        "native/ring.c",
        "native/channel.c",
        "native/channel_start.c",
        "native/uring_slots.c",
        "native/queue_threads.c",
        "native/follow.c",
        "native/serve_switch.c",
        "native/dev_slots.c",
        "native/backing.c",
        "native/fsops.c"
      ],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-std=gnu11"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
