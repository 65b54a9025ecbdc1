/**
 * What every benchmark shares: timing, machine facts, child processes measured from outside, and the result files
 * under bench/results/ (git-ignored).
 */
import { spawn, type StdioOptions } from "node:child_process";
import { mkdir, open, rm, writeFile } from "node:fs/promises";
import { cpus, loadavg, totalmem } from "node:os";
import { join } from "node:path";

/** One comparison: our figure beside the peer's, from the same run. */
export interface Comparison {
  name: string;
  /** What "ours" and "peer" are. */
  ours: string;
  peer: string;
  /** Median wall time in milliseconds over the runs. */
  oursMs: number;
  peerMs: number;
  /** Every run, in milliseconds, for the record. */
  oursRunsMs: number[];
  peerRunsMs: number[];
  /** The 1-minute load average before each timed pair of runs: the neighbours' share of a shared machine. */
  loadAverages: number[];
  /** The target, as a sentence, and whether it was met. */
  target: string;
  met: boolean;
  /** Extra facts (sizes, throughput, peak RSS...). */
  facts: Record<string, number | string | boolean>;
}

/** The machine the numbers come from. */
export function machineFacts(): Record<string, string | number> {
  const cpuList = cpus();
  return {
    date: new Date().toISOString(),
    cpu: cpuList[0]?.model ?? "unknown",
    cores: cpuList.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

/** Milliseconds `work` takes. */
export async function timeIt(work: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/**
 * Runs ours and the peer `runs` times each, alternating which goes first (so page-cache state, writeback and the
 * neighbours' load hit both alike), after one untimed warm-up of each. `settle(next)` runs untimed before every timed
 * run (e.g. removing the output `next` is about to write, and `sync`, so one run's dirty pages are not written back
 * during the next). Returns every timing and the 1-minute load average before each pair of runs.
 */
export async function alternate(
  runs: number,
  ours: () => Promise<unknown>,
  peer: () => Promise<unknown>,
  settle: (next: "ours" | "peer") => Promise<unknown> = async () => undefined,
): Promise<{ oursRunsMs: number[]; peerRunsMs: number[]; loadAverages: number[] }> {
  await ours();
  await peer();
  const oursRunsMs: number[] = [];
  const peerRunsMs: number[] = [];
  const loadAverages: number[] = [];
  const timeOurs = async (): Promise<void> => {
    await settle("ours");
    oursRunsMs.push(await timeIt(ours));
  };
  const timePeer = async (): Promise<void> => {
    await settle("peer");
    peerRunsMs.push(await timeIt(peer));
  };
  for (let run = 0; run < runs; run++) {
    loadAverages.push(loadavg()[0] ?? Number.NaN);
    const order = run % 2 === 0 ? [timeOurs, timePeer] : [timePeer, timeOurs];
    for (const step of order) await step();
  }
  return { oursRunsMs, peerRunsMs, loadAverages };
}

/** Flushes dirty pages to disk (untimed, between the big runs). */
export async function syncDisks(): Promise<void> {
  await runProgram("sync", []);
}

/**
 * The settle step of a run that writes a big new file at `path`: every dirty page written back (so the last run's
 * writeback does not land in this one), then the file this side wrote last time removed, just before the run starts.
 * Removing last: this machine is a Firecracker VM with free page reporting (virtio_balloon; `page_reporting` on the
 * kernel command line), which hands memory that stayed free for about 2 s back to the host, and the next touch of
 * each such page costs a host fault. Removed before a 2 s `sync`, the old output's pages were handed back and the
 * run's writes into the page cache took twice as long (system time 1 s -> 2-3.5 s for 2 GiB, either side, measured
 * 2026-11-30); removed just before, both sides write into memory freed a moment ago, as on a machine without it.
 */
export async function freshOutput(path: string): Promise<void> {
  await syncDisks();
  await rm(path, { force: true });
}

/** What a program printed. */
export interface ProgramOutput {
  stdout: string;
  stderr: string;
}

/**
 * Runs a program to completion; rejects on a non-zero exit with its stderr. With `stdoutFd`, the program's stdout is
 * that file descriptor (as a shell's `> file` gives it) and `stdout` comes back empty.
 */
export function runProgram(command: string, args: readonly string[], stdoutFd?: number): Promise<ProgramOutput> {
  return new Promise((resolve, reject) => {
    const stdio: StdioOptions = ["ignore", stdoutFd ?? "pipe", "pipe"];
    const child = spawn(command, args, { stdio });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr?.on("data", (chunk: Buffer) => err.push(chunk));
    child.on("error", reject);
    child.on("close", (code) => {
      const output = { stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") };
      if (code === 0) resolve(output);
      else reject(new Error(`${command} ${args.join(" ")} exited ${code}: ${output.stderr}`));
    });
  });
}

/** What GNU time says about a finished process. */
export interface ProcessCost {
  stdout: string;
  /** User + system CPU seconds: less sensitive than wall time to the neighbours' load on a shared machine. */
  cpuSeconds: number;
  userSeconds: number;
  systemSeconds: number;
  /** Peak resident memory, MiB. */
  peakRssMiB: number;
}

const GNU_TIME = "/usr/bin/time";
const TIME_FORMAT = "bench-cost %U %S %M";

/**
 * Runs a program under GNU time (`/usr/bin/time`, Debian's `time` package) and reports its CPU time and peak RSS.
 * With `stdoutPath`, stdout goes to that file, created new (it must not exist), as `program > file` in a shell.
 */
export async function runMeasured(command: string, args: readonly string[], stdoutPath?: string): Promise<ProcessCost> {
  const target = stdoutPath === undefined ? undefined : await open(stdoutPath, "wx");
  const { stdout, stderr } = await runProgram(GNU_TIME, ["-f", TIME_FORMAT, command, ...args], target?.fd).finally(() =>
    target?.close(),
  );
  const match = /^bench-cost ([\d.]+) ([\d.]+) (\d+)$/m.exec(stderr);
  if (match === null) throw new Error(`no GNU time report in: ${stderr}`);
  const [userSeconds, systemSeconds] = [Number(match[1]), Number(match[2])];
  return { stdout, cpuSeconds: userSeconds + systemSeconds, userSeconds, systemSeconds, peakRssMiB: Number(match[3]) / 1024 };
}

/** The path of a bench child script (bench/child/*.js). */
export function childScript(script: string): string {
  return join(__dirname, "child", script);
}

/** A size for a comparison's name: `2 GiB`, `0.06 GiB`. */
export function gibibytes(bytes: number): string {
  const value = bytes / 2 ** 30;
  return `${Number.isInteger(value) ? value : value.toFixed(2)} GiB`;
}

function formatMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`;
}

/** One line per comparison, for the terminal and the markdown file. */
export function describeComparison(result: Comparison): string {
  const ratio = result.oursMs / result.peerMs;
  const facts = Object.entries(result.facts)
    .map(([key, value]) => `${key}=${value}`)
    .join(", ");
  return [
    `### ${result.name}`,
    `- ours (${result.ours}): ${formatMs(result.oursMs)} median of [${result.oursRunsMs.map(formatMs).join(", ")}]`,
    `- peer (${result.peer}): ${formatMs(result.peerMs)} median of [${result.peerRunsMs.map(formatMs).join(", ")}]`,
    `- time ours/peer (below 1 = ours faster): medians ${ratio.toFixed(2)}x, best runs ${(Math.min(...result.oursRunsMs) / Math.min(...result.peerRunsMs)).toFixed(2)}x`,
    `- target: ${result.target}: ${result.met ? "MET" : "MISSED"} (judged on the medians)`,
    `- load average (1 min) before each pair of runs: ${result.loadAverages.map((load) => load.toFixed(2)).join(", ")}`,
    `- ${facts}`,
  ].join("\n");
}

/** The README's table: one row per comparison, medians with the best run, ratio, target, load range. */
export function comparisonTable(results: readonly Comparison[]): string {
  const range = (values: number[]): string =>
    `${Math.min(...values).toFixed(1)}-${Math.max(...values).toFixed(1)}`;
  return [
    "| What | Ours, median (best) | Peer, same run, median (best) | Ratio of medians | Target | Load average |",
    "|---|---|---|---|---|---|",
    ...results.map(
      (result) =>
        `| ${result.name} | ${formatMs(result.oursMs)} (${formatMs(Math.min(...result.oursRunsMs))}) | ` +
        `${result.peer}: ${formatMs(result.peerMs)} (${formatMs(Math.min(...result.peerRunsMs))}) | ` +
        `${(result.oursMs / result.peerMs).toFixed(2)}x | ${result.target}: ${result.met ? "met" : "**missed**"} | ` +
        `${range(result.loadAverages)} |`,
    ),
  ].join("\n");
}

/** Writes bench/results/bench-<date>.json and .md and returns the markdown path. */
export async function saveResults(machine: Record<string, string | number>, results: Comparison[]): Promise<string> {
  const folder = join(__dirname, "results");
  await mkdir(folder, { recursive: true });
  const stamp = String(machine.date).replaceAll(":", "-");
  const markdown = [
    `# npm run bench, ${machine.date}`,
    "",
    Object.entries(machine)
      .map(([key, value]) => `- ${key}: ${value}`)
      .join("\n"),
    "",
    ...results.map(describeComparison),
    comparisonTable(results),
    "",
  ].join("\n\n");
  await writeFile(join(folder, `bench-${stamp}.json`), `${JSON.stringify({ machine, results }, null, 2)}\n`);
  const markdownPath = join(folder, `bench-${stamp}.md`);
  await writeFile(markdownPath, markdown);
  return markdownPath;
}

/** A comparison from timings; `met` decides from the two medians. */
export function compare(
  base: Omit<Comparison, "oursMs" | "peerMs" | "met">,
  met: (oursMs: number, peerMs: number) => boolean,
): Comparison {
  const oursMs = median(base.oursRunsMs);
  const peerMs = median(base.peerRunsMs);
  return { ...base, oursMs, peerMs, met: met(oursMs, peerMs) };
}
