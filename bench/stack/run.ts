/**
 * `npm run bench:stack`: DifferencingDisk against what a user would pick instead, under the real Pulumi CLI.
 *
 * 1. `pulumi up` of 50 DifferencingDisks off one 2 GiB golden image (checksum on: the golden image is hashed once),
 *    against the same 50 disks as `command.local.Command`s running `qemu-img create -f qcow2 -b`, and against itself
 *    with `checksum: false`. Both programs (disks/, qemu/) have the same shape, so each side pays the same for
 *    compiling its own index.ts. Target: <= 1.0x the peer. Each side runs `--runs` times (default 3), the three sides
 *    taking turns in a rotating order, a destroy (untimed) after each up; the figure is the median.
 * 2. A no-change `pulumi preview` with checksum on against the same with `checksum: false`: bytes of the golden image
 *    hashed (target 0) and time (target <= 1.2x), medians of `--runs` alternating runs.
 * 3. Where the time goes: one more `up` of each stack with the engine's log on (untimed), broken into phases (see
 *    engine-log.ts), with what our plugin recorded inside (its first call, loading pulumi-vhd, each hook, the hashing;
 *    provider-trace.ts) and the provider text stored in each resource, beside a standalone SHA-256 of the golden image
 *    from the same run; and the peak memory of the dynamic-provider plugin (and the other processes of the run)
 *    during the timed ups.
 * 4. With `--scale`: the up comparison again with each dimension 4 times as large, one at a time: 200 disks, 50 disks
 *    over 4 golden images, and 50 disks off an 8 GiB golden image (with the defaults), each with its ratio.
 *
 * Every figure comes from this one run, printed with the machine's facts and the load average, and written to
 * bench/results/. Everything is destroyed and the temp folder removed at the end.
 * Options: `--runs N` (default 3), `--scale`. Environment: BENCH_GOLDEN_MIB (default 2048), BENCH_DISKS (default 50).
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import { join } from "node:path";
import { CHECKSUM_CACHE_ENV } from "../../provider/sha256/checksum-cache";
import { HASH_STATS_ENV, totalBytesHashed } from "../../provider/sha256/hash-stats";
import { PULUMI_BIN, PulumiTestStack, REPO_ROOT, type PulumiRunResult } from "../../test/support/pulumi-cli";
import { makeFullGolden } from "../fixtures";
import { childScript, median, runMeasured } from "../harness";
import { breakDownUp, ENGINE_LOG_FLAGS, PHASES, type UpBreakdown } from "./engine-log";
import { type HashFigures, providerTrace, serializedProviders, statsLineCount, type ProviderTrace } from "./provider-trace";
import { watchPeakMemory, type Role } from "./peak-memory";

const MiB = 1024 * 1024;
const GOLDEN_MIB = Number(process.env.BENCH_GOLDEN_MIB ?? 2048);
const DISKS = Number(process.env.BENCH_DISKS ?? 50);
/** How much larger each dimension of a `--scale` row is than the default row. */
const SCALE = 4;

interface Options {
  runs: number;
  scale: boolean;
}

function parseOptions(args: readonly string[]): Options {
  const options: Options = { runs: 3, scale: false };
  for (let index = 0; index < args.length; index++) {
    const arg = args[index];
    if (arg === "--scale") options.scale = true;
    else if (arg === "--runs" && Number(args[index + 1]) >= 1) options.runs = Number(args[++index]);
    else throw new Error(`unknown option ${arg}: use --runs N (default 3) and --scale`);
  }
  return options;
}

/** One timed command: wall seconds, the 1-minute load average when it started, peak memory by role. */
interface Timed {
  seconds: number;
  load: number;
  peakMiB: Partial<Record<Role, number>>;
  result: PulumiRunResult;
}

async function timed(stack: PulumiTestStack, run: () => Promise<PulumiRunResult>): Promise<Timed> {
  const load = os.loadavg()[0] ?? Number.NaN;
  const memory = watchPeakMemory(`PULUMI_HOME=${join(stack.workDir, "home")}`);
  const start = process.hrtime.bigint();
  const result = await run();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const peakMiB = memory.stop();
  if (result.code !== 0) throw new Error(`benchmark step failed\n${result.output}`);
  return { seconds, load, peakMiB, result };
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

/** The three stacks of one comparison: disk i goes off golden i mod n on every side. */
interface Stacks {
  withChecksum: PulumiTestStack;
  withoutChecksum: PulumiTestStack;
  qemu: PulumiTestStack;
  statsFile: string;
}

async function makeStacks(work: string, label: string, goldens: string[], disks: number, owned: PulumiTestStack[]): Promise<Stacks> {
  const folder = join(work, label);
  const statsFile = join(folder, "hash-stats.jsonl");
  mkdirSync(join(folder, "qemu"), { recursive: true });
  const program = join(REPO_ROOT, "bench", "stack", "disks");
  const disksConfig = (subfolder: string, checksum: boolean): Record<string, string> => {
    mkdirSync(join(folder, subfolder), { recursive: true });
    return { goldens: JSON.stringify(goldens), folder: join(folder, subfolder), count: String(disks), checksum: String(checksum) };
  };
  const create = async (options: Parameters<typeof PulumiTestStack.create>[0]): Promise<PulumiTestStack> => {
    const stack = await PulumiTestStack.create(options);
    owned.push(stack);
    return stack;
  };
  return {
    statsFile,
    withChecksum: await create({
      projectDir: program,
      config: disksConfig("checksum", true),
      // Its own checksum cache, so the run neither reads nor fills the user's.
      env: { [HASH_STATS_ENV]: statsFile, [CHECKSUM_CACHE_ENV]: join(folder, "checksum-cache") },
    }),
    withoutChecksum: await create({
      projectDir: program,
      config: disksConfig("plain", false),
    }),
    qemu: await create({
      projectDir: join(REPO_ROOT, "bench", "stack", "qemu"),
      config: { goldens: JSON.stringify(goldens), folder: join(folder, "qemu"), count: String(disks) },
    }),
  };
}

/**
 * Marks every golden image as just edited (a new mtime, so a new fingerprint), untimed: each timed up is then the case
 * the issue is about, a pipeline run after a golden image changed, with nothing to reuse from an earlier run.
 */
function editGoldens(goldens: readonly string[]): void {
  const now = new Date();
  for (const golden of goldens) utimesSync(golden, now, now);
}

/**
 * Timed ups of each side, `runs` rounds in a rotating order, each up after an untimed golden edit and followed by an
 * untimed destroy.
 */
async function compareUps(sides: PulumiTestStack[], goldens: readonly string[], runs: number): Promise<Timed[][]> {
  const timings: Timed[][] = sides.map(() => []);
  for (let round = 0; round < runs; round++) {
    for (let turn = 0; turn < sides.length; turn++) {
      const index = (round + turn) % sides.length;
      const stack = sides[index] as PulumiTestStack;
      editGoldens(goldens);
      timings[index]?.push(await timed(stack, () => stack.up(["--skip-preview"])));
      const destroyed = await stack.destroy(["--skip-preview"]);
      if (destroyed.code !== 0) throw new Error(`destroy failed\n${destroyed.output}`);
    }
  }
  return timings;
}

/** One instrumented up: the engine's phases, and for our stack what the provider plugin recorded inside. */
interface Breakdown extends UpBreakdown {
  load: number;
  /** From the statistics record, when the stack has one (ours). */
  provider?: ProviderTrace;
  /** The provider text in each dynamic resource's state (ours). */
  serialized?: ReturnType<typeof serializedProviders>;
}

/**
 * One up with the engine log on, broken down (with the provider's own trace when `statsFile` is the stack's
 * statistics record); the stack is destroyed again afterwards.
 */
async function breakDown(stack: PulumiTestStack, goldens: readonly string[], statsFile?: string): Promise<Breakdown> {
  editGoldens(goldens);
  const load = os.loadavg()[0] ?? Number.NaN;
  const linesBefore = statsFile === undefined ? 0 : statsLineCount(statsFile);
  const startedAt = Date.now();
  const result = await stack.up(["--skip-preview", ...ENGINE_LOG_FLAGS]);
  const endedAt = Date.now();
  if (result.code !== 0) throw new Error(`instrumented up failed\n${result.output}`);
  const breakdown: Breakdown = { ...breakDownUp(result.stderr, startedAt, endedAt), load };
  if (statsFile !== undefined) {
    breakdown.provider = providerTrace(statsFile, linesBefore);
    breakdown.serialized = serializedProviders(await stack.exportStack());
  }
  const destroyed = await stack.destroy(["--skip-preview"]);
  if (destroyed.code !== 0) throw new Error(`destroy failed\n${destroyed.output}`);
  return breakdown;
}

const secondsOf = (runs: Timed[]): number[] => runs.map((run) => run.seconds);
const s = (value: number): string => `${value.toFixed(2)} s`;
const loads = (runs: Timed[]): string => runs.map((run) => run.load.toFixed(1)).join("/");

/** One row of an up comparison: medians, ratio, every run and the load average before each. */
interface UpRow {
  label: string;
  disks: number;
  goldens: number;
  goldenMiB: number;
  checksumOn: number[];
  checksumOff: number[];
  peer: number[];
  ratio: number;
  bytesHashed: number;
  loads: string;
  /** Peak resident memory by process role, the most any timed up of that side reached. */
  peakMiB: { checksumOn: Partial<Record<Role, number>>; peer: Partial<Record<Role, number>> };
}

function peakOf(runs: Timed[]): Partial<Record<Role, number>> {
  const peak: Partial<Record<Role, number>> = {};
  for (const run of runs) {
    for (const [role, mib] of Object.entries(run.peakMiB) as [Role, number][]) peak[role] = Math.max(peak[role] ?? 0, mib);
  }
  return peak;
}

async function upRow(work: string, label: string, goldens: string[], disks: number, runs: number, owned: PulumiTestStack[]): Promise<{ row: UpRow; stacks: Stacks }> {
  const stacks = await makeStacks(work, label, goldens, disks, owned);
  const hashedBefore = totalBytesHashed(stacks.statsFile);
  const [on = [], off = [], peer = []] = await compareUps([stacks.withChecksum, stacks.withoutChecksum, stacks.qemu], goldens, runs);
  const row: UpRow = {
    label,
    disks,
    goldens: goldens.length,
    goldenMiB: Math.round(statSync(goldens[0] as string).size / MiB),
    checksumOn: secondsOf(on),
    checksumOff: secondsOf(off),
    peer: secondsOf(peer),
    ratio: median(secondsOf(on)) / median(secondsOf(peer)),
    bytesHashed: (totalBytesHashed(stacks.statsFile) - hashedBefore) / runs,
    loads: `${loads(on)} | ${loads(off)} | ${loads(peer)}`,
    peakMiB: { checksumOn: peakOf(on), peer: peakOf(peer) },
  };
  return { row, stacks };
}

function printUpRow(row: UpRow): void {
  console.log(
    `| up: ${row.disks} disks off ${row.goldens} golden image(s) of ${row.goldenMiB} MiB | ` +
      `${s(median(row.checksumOn))} (checksum off: ${s(median(row.checksumOff))}; ${row.bytesHashed} bytes hashed per up) | ` +
      `${s(median(row.peer))} | ${row.ratio.toFixed(2)}x | ${row.loads} |`,
  );
}

function printBreakdown(
  ours: Breakdown,
  peer: Breakdown,
  sha256Seconds: number,
  goldenBytes: number,
): void {
  console.log(
    `\n| Phase of one \`up\` (engine log, untimed run) | DifferencingDisk (load ${ours.load.toFixed(1)}) | ` +
      `qemu-img Command (load ${peer.load.toFixed(1)}) |`,
  );
  console.log("|---|---|---|");
  for (const phase of PHASES) console.log(`| ${phase} | ${s(ours.phases[phase])} | ${s(peer.phases[phase])} |`);
  const total = (breakdown: UpBreakdown): number => PHASES.reduce((sum, phase) => sum + breakdown.phases[phase], 0);
  console.log(`| total | ${s(total(ours))} | ${s(total(peer))} |`);
  const operations = new Set([...Object.keys(ours.operations), ...Object.keys(peer.operations)]);
  const describe = (figures: { count: number; totalSeconds: number; medianSeconds: number } | undefined): string =>
    figures === undefined ? "-" : `${figures.count} x, median ${(figures.medianSeconds * 1000).toFixed(0)} ms, sum ${s(figures.totalSeconds)}`;
  for (const operation of operations) {
    console.log(`| provider ${operation} round trips | ${describe(ours.operations[operation])} | ${describe(peer.operations[operation])} |`);
  }
  console.log(`| program: preparing each registration (inputs serialized) | ${describe(ours.prepare)} | ${describe(peer.prepare)} |`);
  console.log(`| SHA-256 of the golden image, standalone (${goldenBytes} bytes) | ${s(sha256Seconds)} | not done |`);
  const trace = ours.provider;
  if (trace !== undefined) {
    const ms = (value: number): string => `${value.toFixed(0)} ms`;
    console.log(`| inside the plugin: process start to its first call (Node.js, the SDK's provider server) | ${ms(trace.firstCallUptimeMs)} | - |`);
    console.log(`| inside the plugin: loading pulumi-vhd on the first call | ${ms(trace.loadMs)} | - |`);
    for (const [hook, figures] of Object.entries(trace.hooks)) {
      console.log(`| inside the plugin: ${hook} hooks | ${figures.count} x, median ${ms(figures.medianMs)}, sum ${ms(figures.totalMs)} | - |`);
    }
    const hashes = (figures: HashFigures): string => `${figures.count} x, ${figures.bytes} bytes, ${ms(figures.totalMs)}`;
    console.log(`| hashing in the program, started when each disk is declared | ${hashes(trace.programHashes)} | not done |`);
    console.log(`| hashing inside the plugin (within the checks) | ${hashes(trace.hashes)} | not done |`);
  }
  const serialized = ours.serialized;
  if (serialized !== undefined) {
    console.log(
      `| provider text serialized into each resource's state | ${serialized.resources} resources, ${serialized.distinct} distinct text(s) of ` +
        `${serialized.bytes.join(", ")} bytes (serialized once per program) | none |`,
    );
  }
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const work = mkdtempSync(join(os.tmpdir(), "vhd-bench-stack-"));
  const owned: PulumiTestStack[] = [];
  try {
    const golden = await makeFullGolden(work, "golden", GOLDEN_MIB);
    const facts = machineFacts(work);
    console.log(`bench:stack  ${facts.date}`);
    console.log(`machine      ${facts.cpu}, ${facts.cores} cores, ${facts.memoryGiB} GiB, load ${facts.loadAverage1m.toFixed(2)}, ${facts.fileSystem}`);
    console.log(`tools        node ${facts.node}, pulumi ${facts.pulumi}, ${facts.qemuImg}`);
    console.log(`runs         median of ${options.runs} alternating runs per side; load = 1-minute load average before each run (on | off | peer)`);

    const main = await upRow(work, "default", [golden], DISKS, options.runs, owned);
    const { withChecksum, withoutChecksum, qemu, statsFile } = main.stacks;

    // No-change previews: both DifferencingDisk stacks up once more, then previews alternate.
    await timed(withChecksum, () => withChecksum.up(["--skip-preview"]));
    await timed(withoutChecksum, () => withoutChecksum.up(["--skip-preview"]));
    const hashedBeforePreviews = totalBytesHashed(statsFile);
    const previewOn: Timed[] = [];
    const previewOff: Timed[] = [];
    for (let round = 0; round < options.runs; round++) {
      const on = (): Promise<Timed> => timed(withChecksum, () => withChecksum.preview(["--expect-no-changes"]));
      const off = (): Promise<Timed> => timed(withoutChecksum, () => withoutChecksum.preview(["--expect-no-changes"]));
      if (round % 2 === 0) {
        previewOn.push(await on());
        previewOff.push(await off());
      } else {
        previewOff.push(await off());
        previewOn.push(await on());
      }
    }
    const hashedByPreviews = totalBytesHashed(statsFile) - hashedBeforePreviews;
    const destroyed = await withChecksum.destroy(["--skip-preview"]);
    if (destroyed.code !== 0) throw new Error(`destroy failed\n${destroyed.output}`);

    const breakdownOurs = await breakDown(withChecksum, [golden], statsFile);
    const breakdownPeer = await breakDown(qemu, [golden]);
    const sha256Start = process.hrtime.bigint();
    await runMeasured(process.execPath, [childScript("sha256.js"), golden]);
    const sha256Seconds = Number(process.hrtime.bigint() - sha256Start) / 1e9;

    const scaleRows: UpRow[] = [];
    if (options.scale) {
      scaleRows.push((await upRow(work, "more-disks", [golden], SCALE * DISKS, options.runs, owned)).row);
      const goldens = [golden];
      for (let index = 1; index < SCALE; index++) goldens.push(await makeFullGolden(work, `golden-${index}`, GOLDEN_MIB));
      scaleRows.push((await upRow(work, "more-goldens", goldens, DISKS, options.runs, owned)).row);
      for (const extra of goldens.slice(1)) rmSync(extra);
      const big = await makeFullGolden(work, "bigger-golden", SCALE * GOLDEN_MIB);
      scaleRows.push((await upRow(work, "bigger-golden", [big], DISKS, options.runs, owned)).row);
    }

    const previewRatio = median(secondsOf(previewOn)) / median(secondsOf(previewOff));
    const results = {
      facts,
      options,
      goldenBytes: statSync(golden).size,
      up: main.row,
      noChangePreview: {
        checksumOn: secondsOf(previewOn),
        checksumOff: secondsOf(previewOff),
        ratio: previewRatio,
        goldenBytesHashed: hashedByPreviews,
      },
      breakdown: { differencingDisk: breakdownOurs, qemuImgCommand: breakdownPeer, sha256Seconds },
      scale: scaleRows,
    };
    const resultsDir = join(REPO_ROOT, "bench", "results");
    mkdirSync(resultsDir, { recursive: true });
    writeFileSync(join(resultsDir, `stack-${facts.date.replace(/[:.]/g, "-")}.json`), `${JSON.stringify(results, null, 2)}\n`);

    console.log("\n| What | DifferencingDisk | Peer, same run | Ratio | Load (on / off / peer runs) |");
    console.log("|---|---|---|---|---|");
    printUpRow(main.row);
    console.log(
      `| no-change preview, checksum on vs off | ${s(median(secondsOf(previewOn)))}, ${hashedByPreviews} bytes hashed | ` +
        `checksum off: ${s(median(secondsOf(previewOff)))} | ${previewRatio.toFixed(2)}x | ${loads(previewOn)} | ${loads(previewOff)} |`,
    );
    for (const row of scaleRows) printUpRow(row);
    console.log(
      `\ntargets: up ${main.row.ratio <= 1 ? "MET" : "MISSED"} (<= 1.00x: ${main.row.ratio.toFixed(2)}x); ` +
        `preview ${previewRatio <= 1.2 && hashedByPreviews === 0 ? "MET" : "MISSED"} (<= 1.20x and 0 bytes hashed)`,
    );
    const peaks = (peak: Partial<Record<Role, number>>): string =>
      Object.entries(peak).map(([role, mib]) => `${role} ${mib} MiB`).join(", ");
    console.log(`peak RSS in the timed ups: DifferencingDisk: ${peaks(main.row.peakMiB.checksumOn)}; peer: ${peaks(main.row.peakMiB.peer)}`);
    printBreakdown(breakdownOurs, breakdownPeer, sha256Seconds, statSync(golden).size);
  } finally {
    for (const stack of owned) await stack.dispose().catch((error: unknown) => console.error(error));
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
