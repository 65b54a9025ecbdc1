// Bench child: reads a VHD (through its chain) out to a raw file with the built library, sparse like qemu-img convert:
// DiskChain.copyToFile writes only the bytes some layer holds (2 MiB pieces, 4 in flight) and extends the file.
// Usage: node read-raw.js DISK.vhd OUT.raw   ->   {"bytes": N}   (run under GNU time for CPU and peak RSS)
"use strict";
const { open } = require("node:fs/promises");
const { openChain } = require("../../provider/dist/vhd/chain.js");

async function main(diskPath, outPath) {
  const chain = await openChain(diskPath);
  const out = await open(outPath, "wx");
  try {
    await chain.copyToFile(out, outPath);
  } finally {
    await out.close();
    await chain.close();
  }
  process.stdout.write(`${JSON.stringify({ bytes: chain.virtualSize })}\n`);
}

main(process.argv[2], process.argv[3]);
