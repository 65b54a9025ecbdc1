/**
 * Where a `pulumi up` spends its time, read from the engine's own log (`--logtostderr --logflow -v=7`: one JSON
 * object per line with a `time` and a `msg`). The phases follow the order the engine works in:
 *
 * - cli: process start to `*** Starting Update`: the CLI, the backend, the stack, the language host's About call;
 * - languageHost: to the Stack resource's registration: plugin gathering, the language host and the program's
 *   Node.js process started, `@pulumi/pulumi` and ts-node loaded;
 * - program: to the default provider's registration: index.ts compiled by ts-node (type-checked), the packages it
 *   imports loaded, the resources constructed (for a dynamic resource, the provider serialized into its inputs);
 * - pluginStart: from that registration to the provider plugin's first answer (GetPluginInfo);
 * - resources: from there to the last resource operation's answer (check, diff, create, hashing and file work);
 * - finish: to process exit: stack outputs, the last checkpoint, plugins shut down.
 *
 * Per-resource figures are the provider's Check/Diff/Create round trips as the engine timed them (sum and median of
 * executing -> success), and the SDK's preparation of each resource's registration in the program ("Registering
 * resource" -> "RegisterResource RPC prepared": serializing its inputs, the dynamic provider included).
 */
import { median } from "../harness";

/** The phases, in seconds, and the per-resource figures. */
export interface UpBreakdown {
  phases: Record<Phase, number>;
  /** Provider operations on resources (not on the provider itself): count, summed and median seconds. */
  operations: Record<string, { count: number; totalSeconds: number; medianSeconds: number }>;
  /** The program's preparation of each custom resource's registration (inputs serialized), seconds. */
  prepare: { count: number; totalSeconds: number; medianSeconds: number };
}

export const PHASES = ["cli", "languageHost", "program", "pluginStart", "resources", "finish"] as const;
export type Phase = (typeof PHASES)[number];

/** The engine flags that make the log this module reads; add them to one untimed `pulumi up`. */
export const ENGINE_LOG_FLAGS = ["--logtostderr", "--logflow", "-v=7"];

interface LogLine {
  at: number;
  msg: string;
}

const STARTING_UPDATE = /^\*\*\* Starting Update/;
const STACK_REGISTERED = /^ResourceMonitor\.RegisterResource received: t=pulumi:pulumi:Stack/;
const PROVIDER_REGISTERED = /^ProviderRegistry\.Check\(urn:[^)]*::pulumi:providers:[^)]*\) executing/;
const PLUGIN_ANSWERED = /^Provider\[[^\]]+\]\.GetPluginInfo\(\) executing/;
const OPERATION = /^Provider\[[^\]]+\]\.(Check|Diff|Create|Read|Update|Delete)\((urn:[^)]*)\) (executing|success|failed)/;
const REGISTERING = /^Registering resource: t=([^,]+), name=([^,]+), custom=true/;
const PREPARED = /^RegisterResource RPC prepared: t=([^,]+), name=(\S+)/;

function logLines(stderr: string): LogLine[] {
  const lines: LogLine[] = [];
  for (const text of stderr.split("\n")) {
    if (!text.startsWith('{"time"')) continue;
    try {
      const entry = JSON.parse(text) as { time?: string; msg?: string };
      if (typeof entry.time === "string" && typeof entry.msg === "string") {
        lines.push({ at: Date.parse(entry.time), msg: entry.msg });
      }
    } catch {
      // A line cut by another writer on the same stderr: not needed for the phases.
    }
  }
  return lines;
}

function summary(durations: number[]): { count: number; totalSeconds: number; medianSeconds: number } {
  return {
    count: durations.length,
    totalSeconds: durations.reduce((sum, value) => sum + value, 0) / 1000,
    medianSeconds: median(durations) / 1000,
  };
}

/**
 * The breakdown of one `pulumi up` whose stderr carried the engine log, given the process's start and end (epoch
 * milliseconds, as the caller measured them).
 *
 * @throws Error when a phase boundary is missing from the log (a failed or differently shaped run).
 */
export function breakDownUp(stderr: string, startedAt: number, endedAt: number): UpBreakdown {
  const lines = logLines(stderr);
  const firstAt = (pattern: RegExp, after = 0): number => {
    const line = lines.find((entry) => entry.at >= after && pattern.test(entry.msg));
    if (line === undefined) throw new Error(`engine log: no line matching ${pattern} after ${after}`);
    return line.at;
  };
  const updateAt = firstAt(STARTING_UPDATE);
  const stackAt = firstAt(STACK_REGISTERED, updateAt);
  const providerAt = firstAt(PROVIDER_REGISTERED, stackAt);
  const pluginAt = firstAt(PLUGIN_ANSWERED, providerAt);

  const pending = new Map<string, number>();
  const durations: Record<string, number[]> = {};
  let lastAnswerAt = pluginAt;
  for (const { at, msg } of lines) {
    const match = OPERATION.exec(msg);
    if (match === null) continue;
    const [, operation = "", urn = "", state] = match;
    if (urn.includes("::pulumi:providers:")) continue;
    const key = `${operation} ${urn}`;
    if (state === "executing") {
      pending.set(key, at);
      continue;
    }
    const began = pending.get(key);
    if (began === undefined) continue;
    pending.delete(key);
    (durations[operation] ??= []).push(at - began);
    lastAnswerAt = Math.max(lastAnswerAt, at);
  }

  const registering = new Map<string, number>();
  const prepareDurations: number[] = [];
  for (const { at, msg } of lines) {
    const started = REGISTERING.exec(msg);
    if (started !== null) {
      registering.set(`${started[1]} ${started[2]}`, at);
      continue;
    }
    const prepared = PREPARED.exec(msg);
    const began = prepared === null ? undefined : registering.get(`${prepared[1]} ${prepared[2]}`);
    if (began !== undefined) prepareDurations.push(at - began);
  }

  const seconds = (from: number, to: number): number => Math.max(0, to - from) / 1000;
  return {
    phases: {
      cli: seconds(startedAt, updateAt),
      languageHost: seconds(updateAt, stackAt),
      program: seconds(stackAt, providerAt),
      pluginStart: seconds(providerAt, pluginAt),
      resources: seconds(pluginAt, lastAnswerAt),
      finish: seconds(lastAnswerAt, endedAt),
    },
    operations: Object.fromEntries(Object.entries(durations).map(([operation, values]) => [operation, summary(values)])),
    prepare: summary(prepareDurations),
  };
}
