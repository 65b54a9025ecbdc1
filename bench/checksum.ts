/**
 * SHA-256 of a 2 GiB file: our `sha256File` in a child process (the built library) vs `openssl dgst -sha256`, both
 * timed from outside as whole processes. The child also reports its peak RSS, on the big file and on a small one:
 * constant memory means the two are about equal, and both under 100 MiB.
 */
import { open, rm } from "node:fs/promises";
import { join } from "node:path";
import { alternate, compare, runChild, runProgram, type Comparison } from "./harness";

const RUNS = 3;
const SMALL_SIZE = 64 * 1024 * 1024;

interface HashChildResult {
  sha256: string;
  bytes: number;
  ms: number;
  maxRssMiB: number;
}

async function makeSmallFile(path: string): Promise<void> {
  const handle = await open(path, "wx");
  try {
    await handle.write(Buffer.alloc(SMALL_SIZE, 0x5a), 0, SMALL_SIZE, 0);
  } finally {
    await handle.close();
  }
}

export async function benchChecksum(folder: string, bigPath: string): Promise<{ comparison: Comparison; sha256: string }> {
  const ours: HashChildResult[] = [];
  const peer: string[] = [];
  const timings = await alternate(
    RUNS,
    async () => ours.push(await runChild<HashChildResult>("sha256.js", [bigPath])),
    async () => peer.push(await runProgram("openssl", ["dgst", "-sha256", "-r", bigPath])),
  );
  const oursDigest = ours[0]?.sha256 ?? "";
  const peerDigest = peer[0]?.split(" ")[0] ?? "";
  if (oursDigest !== peerDigest) throw new Error(`sha256 mismatch: ours ${oursDigest}, openssl ${peerDigest}`);

  const smallPath = join(folder, "small.bin");
  await makeSmallFile(smallPath);
  const small = await runChild<HashChildResult>("sha256.js", [smallPath]);
  await rm(smallPath);

  const bytes = ours[0]?.bytes ?? 0;
  const peakRssMiB = Math.max(...ours.map((result) => result.maxRssMiB));
  const comparison = compare(
    {
      name: "SHA-256 of a 2 GiB file",
      ours: "node child process: sha256File (provider/dist)",
      peer: "openssl dgst -sha256",
      ...timings,
      target: "throughput >= 0.9x openssl (time <= 1.11x) and peak RSS < 100 MiB",
      facts: {
        bytes,
        peakRssMiB_2GiB: Number(peakRssMiB.toFixed(1)),
        peakRssMiB_64MiB: Number(small.maxRssMiB.toFixed(1)),
        digestsEqual: true,
      },
    },
    (oursMs, peerMs) => peerMs / oursMs >= 0.9 && peakRssMiB < 100,
  );
  comparison.facts.oursMiBps = Number((bytes / 2 ** 20 / (comparison.oursMs / 1000)).toFixed(0));
  comparison.facts.peerMiBps = Number((bytes / 2 ** 20 / (comparison.peerMs / 1000)).toFixed(0));
  return { comparison, sha256: oursDigest };
}
