#!/usr/bin/env node
// The `vhd` command. A committed launcher rather than a bin pointing into dist/: npm links the bins of a workspace
// package before the root's `prepare` script has built dist/, and it skips a bin whose file does not exist yet.
// libuv's thread pool (4 threads unless set before its first use) does every read and write of `vhd read`: give it
// one thread per piece the copy keeps in flight (DEFAULT_COPY_WORKERS), as qemu-img's own I/O threads do.
process.env.UV_THREADPOOL_SIZE ??= "8";
require("../dist/cli/main.js");
