// Bench child: hashes one file with the built library (run under GNU time, which measures its CPU and peak RSS).
// Usage: node sha256.js FILE   ->   {"sha256": "...", "bytes": N}
"use strict";
const { sha256File } = require("../../provider/dist/sha256/sha256.js");

sha256File(process.argv[2]).then((result) => process.stdout.write(`${JSON.stringify(result)}\n`));
