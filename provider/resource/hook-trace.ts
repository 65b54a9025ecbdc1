/**
 * Timings of the provider hooks, for `npm run bench:stack`'s per-phase breakdown (issue 11): with
 * `PULUMI_VHD_STATS_FILE` set, each call of a hook appends one `hook` line to that record (sha256/hash-stats.ts),
 * beside the `sha256` lines of the checksums it computed. Off, a hook costs two clock reads more.
 *
 * provider.ts imports this module first, so the clock read when it is evaluated is where running the provider's
 * module graph begins: the first line's `loadMs` is what the plugin pays for loading pulumi-vhd on its first call,
 * except reading and compiling the file: the build bundles the graph into one file (scripts/bundle.sh), which Node.js
 * compiles before any of its code runs.
 */
import { appendStatsLine } from "../sha256/hash-stats";

const moduleLoadStartedAt = performance.now();
let loadMs: number | undefined;

/** One `hook` line of the record. */
export interface HookTraceLine {
  event: "hook";
  /** The hook: `check`, `diff`, `create`, `read`, `update` or `delete`. */
  hook: string;
  /** Milliseconds from the call to its settling. */
  ms: number;
  /** Milliseconds from the provider process's start to the call (`process.uptime()`). */
  uptimeMs: number;
  /** On the first call only: milliseconds from the start of loading the provider module to that call. */
  loadMs?: number;
  /** The provider process. */
  pid: number;
}

/** `run`, timed into the record as `hook`. Returns or rejects as `run` does. */
export function traced<A extends unknown[], R>(hook: string, run: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return async (...args: A): Promise<R> => {
    const started = performance.now();
    const uptimeMs = process.uptime() * 1000;
    const first = loadMs === undefined ? { loadMs: (loadMs = started - moduleLoadStartedAt) } : {};
    try {
      return await run(...args);
    } finally {
      const line: HookTraceLine = { event: "hook", hook, ms: performance.now() - started, uptimeMs, ...first, pid: process.pid };
      appendStatsLine(line);
    }
  };
}
