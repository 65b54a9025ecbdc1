/**
 * SHA-256 of a 2 GiB file: our `sha256File` in a child process (the built library) vs `openssl dgst -sha256`, both
 * timed from outside as whole processes, and both run under GNU time for their CPU time and peak RSS. Peak RSS is
 * measured on the big file and on a small one: constant memory means the two are about equal, both under 100 MiB.
 */
import { open, rm } from "node:fs/promises";
import { join } from "node:path";
import { alternate, childScript, compare, median, runMeasured, type Comparison, type ProcessCost } from "./harness";

const RUNS = 5;
const SMALL_SIZE = 64 * 1024 * 1024;

/** What bench/child/sha256.js prints. */
interface HashChildResult {
  sha256: string;
  bytes: number;
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
  const ours: ProcessCost[] = [];
  const peer: ProcessCost[] = [];
  const timings = await alternate(
    RUNS,
    async () => ours.push(await runMeasured(process.execPath, [childScript("sha256.js"), bigPath])),
    async () => peer.push(await runMeasured("openssl", ["dgst", "-sha256", "-r", bigPath])),
  );
  const oursResult = JSON.parse(ours[0]?.stdout ?? "{}") as HashChildResult;
  const peerDigest = peer[0]?.stdout.split(" ")[0] ?? "";
  if (oursResult.sha256 !== peerDigest) throw new Error(`sha256 mismatch: ours ${oursResult.sha256}, openssl ${peerDigest}`);

  const smallPath = join(folder, "small.bin");
  await makeSmallFile(smallPath);
  const small = await runMeasured(process.execPath, [childScript("sha256.js"), smallPath]);
  await rm(smallPath);

  const bytes = oursResult.bytes;
  const peakRssMiB = Math.max(...ours.map((result) => result.peakRssMiB));
  const cpu = (costs: ProcessCost[]): number => median(costs.map((cost) => cost.cpuSeconds));
  const comparison = compare(
    {
      name: "SHA-256 of a 2 GiB file",
      ours: "node child process: sha256File (provider/dist)",
      peer: "openssl dgst -sha256",
      ...timings,
      target: "throughput >= 0.9x openssl (time <= 1.11x) and peak RSS < 100 MiB",
      facts: {
        bytes,
        peakRssMiB_2GiB: round(peakRssMiB),
        peakRssMiB_64MiB: round(small.peakRssMiB),
        opensslPeakRssMiB: round(Math.max(...peer.map((result) => result.peakRssMiB))),
        oursCpuSeconds: round(cpu(ours)),
        opensslCpuSeconds: round(cpu(peer)),
        digestsEqual: true,
      },
    },
    (oursMs, peerMs) => peerMs / oursMs >= 0.9 && peakRssMiB < 100,
  );
  comparison.facts.oursMiBps = Math.round(bytes / 2 ** 20 / (comparison.oursMs / 1000));
  comparison.facts.opensslMiBps = Math.round(bytes / 2 ** 20 / (comparison.peerMs / 1000));
  return { comparison, sha256: oursResult.sha256 };
}

function round(value: number): number {
  return Number(value.toFixed(2));
}
