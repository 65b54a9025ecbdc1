// Bench child: hashes one file with the built library and reports its time and the process's peak RSS.
// Usage: node sha256.js FILE   ->   {"sha256": "...", "bytes": N, "ms": N, "maxRssMiB": N}
"use strict";
const { peakRssMiB } = require("./peak-rss.js");
const { sha256File } = require("../../provider/dist/checksum/sha256.js");

const start = process.hrtime.bigint();
sha256File(process.argv[2]).then((result) => {
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  process.stdout.write(`${JSON.stringify({ ...result, ms, maxRssMiB: peakRssMiB() })}\n`);
});
