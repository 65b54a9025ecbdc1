/**
 * Peak resident memory of the processes a `pulumi` run starts, by role, read from `/proc/<pid>/status` (`VmHWM`, the
 * kernel's own high-water mark) every 100 ms while the run lasts. The engine kills its plugins without notice, so
 * nothing inside them could report at exit; VmHWM only grows, so a sample up to 100 ms before the end loses at most
 * what the process gained in its last 100 ms. Only processes whose environment holds `marker` count (e.g. the
 * stack's own `PULUMI_HOME=...`, which every process of the run inherits): others may run Pulumi on the same machine.
 * Linux only.
 */
import { readdirSync, readFileSync } from "node:fs";

/** The roles watched, each recognised by its command line. */
const ROLES = {
  /** The dynamic-provider plugin serving DifferencingDisk (a Node.js process running @pulumi/pulumi's server). */
  dynamicProviderPlugin: "@pulumi/pulumi/cmd/dynamic-provider",
  /** The program itself, run by the Node.js language host. */
  program: "@pulumi/pulumi/cmd/run",
  /** The command provider plugin (Go) serving the peer's `command.local.Command`. */
  commandPlugin: "pulumi-resource-command",
  /** The CLI and engine. */
  engine: "/pulumi ",
} as const;
export type Role = keyof typeof ROLES;

function readOrEmpty(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

/** Starts watching; `stop()` ends it and gives the peak MiB seen per role (roles never seen are left out). */
export function watchPeakMemory(marker: string): { stop(): Partial<Record<Role, number>> } {
  // Whether a pid belongs to the run, decided once; its role is looked up every time (a shell script exec's node).
  const belongs = new Map<string, boolean>();
  const peakKiB: Partial<Record<Role, number>> = {};
  const sample = (): void => {
    for (const pid of readdirSync("/proc")) {
      if (!/^\d+$/.test(pid)) continue;
      let ours = belongs.get(pid);
      if (ours === undefined) {
        ours = readOrEmpty(`/proc/${pid}/environ`).split("\0").includes(marker);
        belongs.set(pid, ours);
      }
      if (!ours) continue;
      const commandLine = `${readOrEmpty(`/proc/${pid}/cmdline`).replaceAll("\0", " ")} `;
      const role = (Object.keys(ROLES) as Role[]).find((name) => commandLine.includes(ROLES[name]));
      if (role === undefined) continue;
      const hwm = /^VmHWM:\s+(\d+) kB/m.exec(readOrEmpty(`/proc/${pid}/status`));
      if (hwm !== null) peakKiB[role] = Math.max(peakKiB[role] ?? 0, Number(hwm[1]));
    }
  };
  const timer = setInterval(sample, 100);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return Object.fromEntries(Object.entries(peakKiB).map(([role, kib]) => [role, Math.round(kib / 1024)]));
    },
  };
}
