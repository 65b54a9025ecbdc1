/**
 * `npm run bench`: speed and memory of the VHD engine beside a peer measured in the same run (issue 2). Needs the
 * built library (`npm run build`, which the npm script runs first). Big files live in one temporary folder that is
 * removed at the end, whatever happens.
 */
import { access, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { benchChecksum } from "./checksum";
import { benchCreateDifferencing } from "./create-differencing";
import { BIG_SIZE, makeBigDynamicVhd, makeBigRaw } from "./fixtures";
import { describeComparison, machineFacts, saveResults, timeIt, type Comparison } from "./harness";
import { benchReadRaw } from "./read-raw";

async function main(): Promise<void> {
  await access(join(__dirname, "..", "provider", "dist", "checksum", "sha256.js")).catch(() => {
    throw new Error("provider/dist is missing: run `npm run build` first (npm run bench does)");
  });
  const machine = machineFacts();
  console.log(Object.entries(machine).map(([key, value]) => `${key}: ${value}`).join("\n"));
  const folder = await mkdtemp(join(tmpdir(), "vhd-bench-"));
  const results: Comparison[] = [];
  const report = (comparison: Comparison): void => {
    results.push(comparison);
    console.log(`\n${describeComparison(comparison)}`);
  };
  try {
    for (const comparison of await benchCreateDifferencing(folder)) report(comparison);

    const rawPath = join(folder, "big.raw");
    const vhdPath = join(folder, "big-dynamic.vhd");
    const setupMs = await timeIt(async () => {
      await makeBigRaw(rawPath);
      await makeBigDynamicVhd(rawPath, vhdPath);
    });
    console.log(`\n(setup: ${BIG_SIZE} bytes of raw image and its dynamic VHD in ${(setupMs / 1000).toFixed(1)} s)`);

    const checksum = await benchChecksum(folder, rawPath);
    report(checksum.comparison);
    report(await benchReadRaw(folder, vhdPath, checksum.sha256));
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
  const saved = await saveResults(machine, results);
  console.log(`\nresults: ${saved}`);
  const missed = results.filter((result) => !result.met).map((result) => result.name);
  if (missed.length > 0) console.log(`targets missed: ${missed.join("; ")}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
