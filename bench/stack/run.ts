/**
 * `npm run bench:stack`: DifferencingDisk against what a user would pick instead, under the real Pulumi CLI.
 *
 * 1. `pulumi up` of 50 DifferencingDisks off one 2 GiB golden image (checksum on: the golden image is hashed once),
 *    against the same 50 disks as `command.local.Command`s running `qemu-img create -f qcow2 -b`. Target: <= 1.0x.
 * 2. A no-change `pulumi preview` of the DifferencingDisk stack: bytes of the golden image hashed (target 0) and time
 *    against the same stack made with `checksum: false`. Target: <= 1.2x.
 *
 * Every figure comes from this one run, printed with the machine's facts and written to bench/results/. Bounded:
 * three previews each, one up each; everything is destroyed and the temp folder removed at the end.
 * Environment: BENCH_GOLDEN_MIB (default 2048), BENCH_DISKS (default 50).
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, statSync, writeFileSync, writeSync } from "node:fs";
import * as os from "node:os";
import { join } from "node:path";
import { createBaseDisk } from "../../provider/ops/create-base";
import { CHECKSUM_CACHE_ENV } from "../../provider/checksum/checksum-cache";
import { HASH_STATS_ENV, totalBytesHashed } from "../../provider/checksum/hash-stats";
import { PULUMI_BIN, PulumiTestStack, REPO_ROOT, type PulumiRunResult } from "../../test/support/pulumi-cli";

const MiB = 1024 * 1024;
const GOLDEN_MIB = Number(process.env.BENCH_GOLDEN_MIB ?? 2048);
const DISKS = Number(process.env.BENCH_DISKS ?? 50);
const PREVIEWS = 3;

interface Timed {
  seconds: number;
  result: PulumiRunResult;
}

async function timed(run: () => Promise<PulumiRunResult>): Promise<Timed> {
  const start = process.hrtime.bigint();
  const result = await run();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (result.code !== 0) throw new Error(`benchmark step failed\n${result.output}`);
  return { seconds, result };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** A golden image full of data (not sparse), as a real OS image is: a raw file of random bytes made into a VHD. */
async function makeGolden(work: string): Promise<string> {
  const raw = join(work, "golden.raw");
  const chunk = randomBytes(16 * MiB);
  const fd = openSync(raw, "w");
  for (let written = 0; written < GOLDEN_MIB; written += 16) {
    chunk.writeUInt32LE(written, 0);
    writeSync(fd, chunk);
  }
  closeSync(fd);
  const golden = join(work, "golden.vhd");
  await createBaseDisk({ path: golden, type: "dynamic", fromRaw: raw });
  rmSync(raw);
  return golden;
}

/** What the figures were measured on. */
interface MachineFacts {
  date: string;
  cpu: string;
  cores: number;
  memoryGiB: number;
  loadAverage1m: number;
  node: string;
  pulumi: string;
  qemuImg: string;
  fileSystem: string;
}

function machineFacts(work: string): MachineFacts {
  const cpus = os.cpus();
  const version = (command: string, args: string[]): string =>
    execFileSync(command, args, { encoding: "utf8" }).split("\n")[0]?.trim() ?? "";
  return {
    date: new Date().toISOString(),
    cpu: cpus[0]?.model ?? "unknown",
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 1024 ** 3),
    loadAverage1m: os.loadavg()[0] ?? 0,
    node: process.version,
    pulumi: version(PULUMI_BIN, ["version"]),
    qemuImg: version("qemu-img", ["--version"]),
    fileSystem: version("stat", ["-f", "-c", "%T", work]),
  };
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(os.tmpdir(), "vhd-bench-stack-"));
  const stacks: PulumiTestStack[] = [];
  try {
    const golden = await makeGolden(work);
    const statsFile = join(work, "hash-stats.jsonl");
    const diskSpecs = (folder: string, checksum: boolean) =>
      JSON.stringify(
        Array.from({ length: DISKS }, (_, index) => ({
          name: `disk-${index}`,
          parentPath: golden,
          imagePath: join(work, folder, `disk-${index}.vhd`),
          checksum,
        })),
      );
    const program = join(REPO_ROOT, "test", "resource", "programs", "disks");
    const withChecksum = await PulumiTestStack.create({
      projectDir: program,
      config: { disks: diskSpecs("checksum", true), exportPathsOnly: "true" },
      // Its own checksum cache: the measured up hashes the golden image once, as on a fresh machine.
      env: { [HASH_STATS_ENV]: statsFile, [CHECKSUM_CACHE_ENV]: join(work, "checksum-cache") },
    });
    stacks.push(withChecksum);
    const withoutChecksum = await PulumiTestStack.create({
      projectDir: program,
      config: { disks: diskSpecs("plain", false), exportPathsOnly: "true" },
    });
    stacks.push(withoutChecksum);
    mkdirSync(join(work, "qemu"));
    const qemu = await PulumiTestStack.create({
      projectDir: join(REPO_ROOT, "bench", "stack", "qemu"),
      config: { golden, folder: join(work, "qemu"), count: String(DISKS) },
    });
    stacks.push(qemu);

    const facts = machineFacts(work);
    const qemuUp = await timed(() => qemu.up(["--skip-preview"]));
    const disksUp = await timed(() => withChecksum.up(["--skip-preview"]));
    const hashedByUp = totalBytesHashed(statsFile);
    const plainUp = await timed(() => withoutChecksum.up(["--skip-preview"]));

    const previewWith: number[] = [];
    const previewWithout: number[] = [];
    for (let round = 0; round < PREVIEWS; round++) {
      previewWith.push((await timed(() => withChecksum.preview(["--expect-no-changes"]))).seconds);
      previewWithout.push((await timed(() => withoutChecksum.preview(["--expect-no-changes"]))).seconds);
    }
    const hashedByPreviews = totalBytesHashed(statsFile) - hashedByUp;

    const results = {
      facts,
      goldenBytes: statSync(golden).size,
      disks: DISKS,
      up: {
        differencingDiskSeconds: disksUp.seconds,
        qemuImgCommandSeconds: qemuUp.seconds,
        ratio: disksUp.seconds / qemuUp.seconds,
        goldenBytesHashed: hashedByUp,
        differencingDiskChecksumOffSeconds: plainUp.seconds,
      },
      noChangePreview: {
        checksumOnSeconds: median(previewWith),
        checksumOffSeconds: median(previewWithout),
        ratio: median(previewWith) / median(previewWithout),
        goldenBytesHashed: hashedByPreviews,
        runs: { checksumOn: previewWith, checksumOff: previewWithout },
      },
    };
    const resultsDir = join(REPO_ROOT, "bench", "results");
    mkdirSync(resultsDir, { recursive: true });
    writeFileSync(join(resultsDir, `stack-${facts.date.replace(/[:.]/g, "-")}.json`), `${JSON.stringify(results, null, 2)}\n`);

    const s = (value: number): string => `${value.toFixed(2)} s`;
    console.log(`bench:stack  ${facts.date}`);
    console.log(`machine      ${facts.cpu}, ${facts.cores} cores, ${facts.memoryGiB} GiB, load ${facts.loadAverage1m.toFixed(2)}, ${facts.fileSystem}`);
    console.log(`tools        node ${facts.node}, pulumi ${facts.pulumi}, ${facts.qemuImg}`);
    console.log(`golden       ${(results.goldenBytes / MiB).toFixed(0)} MiB dynamic VHD, ${DISKS} disks`);
    console.log(
      `up           DifferencingDisk ${s(disksUp.seconds)} vs qemu-img Command ${s(qemuUp.seconds)}: ` +
        `${results.up.ratio.toFixed(2)}x (target <= 1.00x); golden hashed ${hashedByUp} bytes ` +
        `(with checksum off: ${s(plainUp.seconds)})`,
    );
    console.log(
      `preview      no change, checksum on ${s(results.noChangePreview.checksumOnSeconds)} vs off ` +
        `${s(results.noChangePreview.checksumOffSeconds)} (median of ${PREVIEWS}): ` +
        `${results.noChangePreview.ratio.toFixed(2)}x (target <= 1.20x); golden hashed ${hashedByPreviews} bytes (target 0)`,
    );
  } finally {
    for (const stack of stacks) await stack.dispose();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
