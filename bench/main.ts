/**
 * `npm run bench`: speed and memory of the VHD engine and the `vhd` command beside a peer measured in the same run
 * (issues 2 and 11). Needs the built library (`npm run build`, which the npm script runs first). Big files live in one
 * temporary folder that is removed at the end, whatever happens.
 *
 * `npm run bench -- create checksum read vhdx` runs only the groups named (default: all four). `VHD_BENCH_SIZE` and
 * `VHD_BENCH_VHDX_PARENT_SIZE` (bytes) shrink the inputs, to prove the benchmarks work (fixtures.ts, vhdx.ts).
 */
import { access, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { benchChecksum } from "./checksum";
import { benchCreateDifferencing } from "./create-differencing";
import { BIG_SIZE, BLOCK_PATTERNS, makeBigDynamicVhd, makeBigRaw } from "./fixtures";
import { comparisonTable, describeComparison, machineFacts, saveResults, timeIt, type Comparison } from "./harness";
import { benchReadRaw } from "./read-raw";
import { benchConvertVhdToVhdx, benchCreateVhdxChild } from "./vhdx";
import { createBaseDisk } from "../provider/ops/create-base";
import { sha256File } from "../provider/sha256/sha256";

const GROUPS = ["create", "checksum", "read", "vhdx"] as const;
type Group = (typeof GROUPS)[number];

function selectedGroups(args: readonly string[]): Set<Group> {
  const unknown = args.filter((arg) => !(GROUPS as readonly string[]).includes(arg));
  if (unknown.length > 0) throw new Error(`unknown benchmark group ${unknown.join(", ")}: pick from ${GROUPS.join(", ")}`);
  return new Set(args.length === 0 ? GROUPS : (args as Group[]));
}

/** A raw image with `BIG_SIZE` bytes in the blocks `holdsData` picks, and its dynamic VHD made by our writer. */
async function makeBigPair(folder: string, name: keyof typeof BLOCK_PATTERNS): Promise<{ rawPath: string; vhdPath: string }> {
  const rawPath = join(folder, `${name}.raw`);
  const vhdPath = join(folder, `${name}.vhd`);
  const setupMs = await timeIt(async () => {
    await makeBigRaw(rawPath, BLOCK_PATTERNS[name]);
    await makeBigDynamicVhd(rawPath, vhdPath);
  });
  console.log(`\n(setup: ${BIG_SIZE}-byte ${name} raw image and its dynamic VHD in ${(setupMs / 1000).toFixed(1)} s)`);
  return { rawPath, vhdPath };
}

async function main(): Promise<void> {
  const groups = selectedGroups(process.argv.slice(2));
  await access(join(__dirname, "..", "provider", "dist", "sha256", "sha256.js")).catch(() => {
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
    if (groups.has("create")) for (const comparison of await benchCreateDifferencing(folder)) report(comparison);
    if (groups.has("vhdx")) report(await benchCreateVhdxChild(folder));
    if (groups.has("checksum") || groups.has("read") || groups.has("vhdx")) {
      const full = await makeBigPair(folder, "full");
      let fullSha256: string;
      if (groups.has("checksum")) {
        const checksum = await benchChecksum(folder, full.rawPath);
        report(checksum.comparison);
        fullSha256 = checksum.sha256;
      } else {
        fullSha256 = (await sha256File(full.rawPath)).sha256;
      }
      if (groups.has("vhdx")) {
        // The same bytes as a dynamic VHDX, made by `create --from` (create's block size for VHDX).
        const vhdxPath = join(folder, "full.vhdx");
        await createBaseDisk({ path: vhdxPath, fromRaw: full.rawPath });
        report(await benchReadRaw(folder, vhdxPath, fullSha256, "fully allocated", "vhdx"));
        await rm(vhdxPath);
        report(await benchConvertVhdToVhdx(folder, full.vhdPath, "unsafe"));
        report(await benchConvertVhdToVhdx(folder, full.vhdPath, "writeback"));
      }
      await rm(full.rawPath);
      if (groups.has("read")) {
        report(await benchReadRaw(folder, full.vhdPath, fullSha256, "fully allocated"));
        const sparse = await makeBigPair(folder, "sparse");
        const sparseSha256 = (await sha256File(sparse.rawPath)).sha256;
        report(await benchReadRaw(folder, sparse.vhdPath, sparseSha256, "sparse (1 block in 8)"));
      }
    }
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
  console.log(`\n${comparisonTable(results)}`);
  const saved = await saveResults(machine, results);
  console.log(`\nresults: ${saved}`);
  const missed = results.filter((result) => !result.met).map((result) => result.name);
  if (missed.length > 0) console.log(`targets missed: ${missed.join("; ")}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
