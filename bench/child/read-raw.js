// Bench child: reads a VHD (through its chain) out to a raw file with the built library, sparse like qemu-img convert:
// chunks no layer holds data for are skipped and the file is extended at the end.
// Usage: node read-raw.js DISK.vhd OUT.raw   ->   {"bytes": N, "ms": N, "maxRssMiB": N}
"use strict";
const { peakRssMiB } = require("./peak-rss.js");
const { open } = require("node:fs/promises");
const { openChain } = require("../../provider/dist/vhd/chain.js");

async function main(diskPath, outPath) {
  const start = process.hrtime.bigint();
  const chain = await openChain(diskPath);
  const out = await open(outPath, "wx");
  try {
    for await (const chunk of chain.chunks()) {
      if (!chunk.zero) await out.write(chunk.bytes, 0, chunk.bytes.length, chunk.offset);
    }
    await out.truncate(chain.virtualSize);
  } finally {
    await out.close();
    await chain.close();
  }
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  process.stdout.write(`${JSON.stringify({ bytes: chain.virtualSize, ms, maxRssMiB: peakRssMiB() })}\n`);
}

main(process.argv[2], process.argv[3]);
