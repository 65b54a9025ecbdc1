/**
 * Our side of the per-phase breakdown, from inside the provider plugin: the statistics record
 * (`PULUMI_VHD_STATS_FILE`, sha256/hash-stats.ts) with its `hook` lines (resource/hook-trace.ts) and `sha256` lines,
 * and the provider text the SDK serialized into each resource's state (`__provider`).
 *
 * The engine log (engine-log.ts) says when the plugin answered and how long each round trip took as the engine saw
 * it; this says what the plugin did inside: when its first call came (process start to first hook: Node.js, the SDK's
 * provider server, the engine's handshake), what loading pulumi-vhd cost on that call, the hooks' own time, and the
 * hashing within them.
 */
import { readStatsLines, type StatsLine } from "../../provider/sha256/hash-stats";
import type { StackExport } from "../../test/support/pulumi-cli";
import { median } from "../harness";

/** Count, sum and median of a set of durations, in milliseconds. */
export interface Durations {
  count: number;
  totalMs: number;
  medianMs: number;
}

/** Checksums computed: how many, bytes, summed milliseconds. */
export interface HashFigures {
  count: number;
  bytes: number;
  totalMs: number;
}

/** What the provider plugin (and the program, for the checksums it starts) recorded about one run. */
export interface ProviderTrace {
  /** Milliseconds from the plugin process's start to its first hook call. */
  firstCallUptimeMs: number;
  /** Milliseconds of loading pulumi-vhd's provider module on that first call. */
  loadMs: number;
  /** The hooks' own durations, by hook. */
  hooks: Record<string, Durations>;
  /** The checksums the plugin computed (in its checks): how many, bytes, summed milliseconds. */
  hashes: HashFigures;
  /**
   * The checksums computed in another process of the run: the program, which starts a parent's checksum when the disk
   * is declared (ops/observe-parent.ts `startParentChecksum`), before the plugin has started.
   */
  programHashes: HashFigures;
  /** Provider processes that served the run (1 when the engine starts the plugin once). */
  processes: number;
}

function durations(values: number[]): Durations {
  return { count: values.length, totalMs: values.reduce((sum, value) => sum + value, 0), medianMs: median(values) };
}

/** The trace of the run whose lines came after the first `skipLines` lines of `file`. */
export function providerTrace(file: string, skipLines: number): ProviderTrace {
  const lines = readStatsLines(file).slice(skipLines);
  const hookLines = lines.filter((line) => line.event === "hook");
  const first = hookLines.find((line) => line.loadMs !== undefined) ?? hookLines[0];
  if (first === undefined) throw new Error(`provider trace: no hook line in ${file}; is PULUMI_VHD_STATS_FILE set for the stack?`);
  const byHook = new Map<string, number[]>();
  for (const line of hookLines) {
    const hook = String(line.hook);
    byHook.set(hook, [...(byHook.get(hook) ?? []), Number(line.ms)]);
  }
  const pluginPids = new Set(hookLines.map((line) => line.pid));
  const hashLines = lines.filter((line) => line.event === "sha256");
  const sum = (values: StatsLine[], key: string): number => values.reduce((total, line) => total + Number(line[key]), 0);
  const figures = (values: StatsLine[]): HashFigures => ({ count: values.length, bytes: sum(values, "bytes"), totalMs: sum(values, "ms") });
  return {
    firstCallUptimeMs: Number(first.uptimeMs),
    loadMs: Number(first.loadMs ?? Number.NaN),
    hooks: Object.fromEntries([...byHook].map(([hook, values]) => [hook, durations(values)])),
    hashes: figures(hashLines.filter((line) => pluginPids.has(line.pid))),
    programHashes: figures(hashLines.filter((line) => !pluginPids.has(line.pid))),
    processes: pluginPids.size,
  };
}

/** The lines the record holds now: pass it to {@link providerTrace} after the run to read that run's lines only. */
export function statsLineCount(file: string): number {
  return readStatsLines(file).length;
}

/** The provider text serialized into the dynamic resources of a stack: how many resources, distinct texts, bytes each. */
export function serializedProviders(state: StackExport): { resources: number; distinct: number; bytes: number[] } {
  const texts = (state.deployment.resources ?? [])
    .map((resource) => resource.inputs?.__provider)
    .filter((text): text is string => typeof text === "string");
  return { resources: texts.length, distinct: new Set(texts).size, bytes: [...new Set(texts)].map((text) => Buffer.byteLength(text)) };
}
