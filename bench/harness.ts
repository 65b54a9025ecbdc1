/**
 * What every benchmark shares: timing, machine facts, child processes measured from outside, and the result files
 * under bench/results/ (git-ignored).
 */
import { spawn } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { cpus, totalmem } from "node:os";
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
 * Runs ours and the peer `runs` times each, alternating (so page-cache state and neighbours' load hit both alike),
 * after one untimed warm-up of each. Returns every timing.
 */
export async function alternate(
  runs: number,
  ours: () => Promise<unknown>,
  peer: () => Promise<unknown>,
): Promise<{ oursRunsMs: number[]; peerRunsMs: number[] }> {
  await ours();
  await peer();
  const oursRunsMs: number[] = [];
  const peerRunsMs: number[] = [];
  for (let run = 0; run < runs; run++) {
    oursRunsMs.push(await timeIt(ours));
    peerRunsMs.push(await timeIt(peer));
  }
  return { oursRunsMs, peerRunsMs };
}

/** Runs a program to completion; rejects on a non-zero exit with its stderr. Resolves with its stdout. */
export function runProgram(command: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => err.push(chunk));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0) resolve(Buffer.concat(out).toString("utf8"));
      else reject(new Error(`${command} ${args.join(" ")} exited ${code}: ${Buffer.concat(err).toString("utf8")}`));
    });
  });
}

/** Runs a bench child script (bench/child/*.js, using the built library) and parses the JSON line it prints. */
export async function runChild<T>(script: string, args: readonly string[]): Promise<T> {
  const stdout = await runProgram(process.execPath, [join(__dirname, "child", script), ...args]);
  return JSON.parse(stdout.trim()) as T;
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
    `- ours/peer time ratio: ${ratio.toFixed(2)}x; target: ${result.target}: ${result.met ? "MET" : "MISSED"}`,
    `- ${facts}`,
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
