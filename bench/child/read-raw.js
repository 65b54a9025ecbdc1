// Bench child: reads a VHD (through its chain) out to a raw file with the built library, sparse like qemu-img convert:
// chunks no layer holds data for are skipped and the file is extended at the end.
// Usage: node read-raw.js DISK.vhd OUT.raw   ->   {"bytes": N}   (run under GNU time for CPU and peak RSS)
"use strict";
const { open } = require("node:fs/promises");
const { openChain } = require("../../provider/dist/vhd/chain.js");

// 32 MiB pieces: measured here, 8 MiB (the chain's default) spends about twice the system time in page-cache writes
// for the same 2 GiB (peak RSS ~115 MiB instead of ~65 MiB).
const CHUNK_SIZE = 32 * 1024 * 1024;

async function main(diskPath, outPath) {
  const chain = await openChain(diskPath);
  const out = await open(outPath, "wx");
  try {
    for await (const chunk of chain.chunks({ chunkSize: CHUNK_SIZE })) {
      if (!chunk.zero) await out.write(chunk.bytes, 0, chunk.bytes.length, chunk.offset);
    }
    await out.truncate(chain.virtualSize);
  } finally {
    await out.close();
    await chain.close();
  }
  process.stdout.write(`${JSON.stringify({ bytes: chain.virtualSize })}\n`);
}

main(process.argv[2], process.argv[3]);
