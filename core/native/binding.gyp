# The syscall seam Node.js lacks (SO_ORIGINAL_DST, setns, SO_MARK, IP_TRANSPARENT).
# Plain C on N-API: no node-addon-api dependency and no rebuild per Node.js major.
{
  "targets": [
    {
      "target_name": "syscalls",
      "sources": ["src/syscalls.c"],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE"],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    }
  ]
}
