/**
 * Small tmpfs mounts for fault tests: a volume that fills up, a mount made read-only. Mounting needs root (or
 * CAP_SYS_ADMIN); {@link mountTmpfs} says why it cannot, so the test skips with that reason.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** A mounted tmpfs. */
export interface TmpfsMount {
  path: string;
  /** Fills the volume up to its last byte with a file `filler` (what a full disk root looks like). */
  fill(): void;
  /** Removes the filler again. */
  unfill(): void;
  /** `mount -o remount,ro` or `rw`. */
  remount(mode: "ro" | "rw"): void;
  /** Unmounts (lazily, so an open handle of a killed process cannot keep it) and removes the mount point. */
  unmount(): void;
}

function run(command: string, args: string[]): string | undefined {
  const result = spawnSync(command, args, { encoding: "utf8" });
  if (result.error !== undefined) return result.error.message;
  return result.status === 0 ? undefined : `${command} ${args.join(" ")}: ${result.stderr.trim() || `exit ${result.status}`}`;
}

/** Mounts a tmpfs of `sizeBytes` at `path` (created), or returns why it cannot. */
export function mountTmpfs(path: string, sizeBytes: number): TmpfsMount | string {
  if (process.getuid?.() !== 0) return "mounting a tmpfs needs root";
  mkdirSync(path, { recursive: true });
  const failed = run("mount", ["-t", "tmpfs", "-o", `size=${sizeBytes},mode=0755`, "tmpfs", path]);
  if (failed !== undefined) {
    rmSync(path, { recursive: true, force: true });
    return `cannot mount a tmpfs here: ${failed}`;
  }
  const filler = join(path, "filler");
  const check = (error: string | undefined): void => {
    if (error !== undefined) throw new Error(error);
  };
  return {
    path,
    fill: () => {
      // Write until ENOSPC: dd then fails, which is the point; what matters is that no byte is left.
      writeFileSync(filler, "");
      spawnSync("dd", ["if=/dev/zero", `of=${filler}`, "bs=4096"], { stdio: "ignore" });
      spawnSync("dd", ["if=/dev/zero", `of=${filler}`, "bs=1", "oflag=append", "conv=notrunc"], { stdio: "ignore" });
    },
    unfill: () => rmSync(filler, { force: true }),
    remount: (mode) => check(run("mount", ["-o", `remount,${mode}`, path])),
    unmount: () => {
      run("umount", ["-l", path]);
      rmSync(path, { recursive: true, force: true });
    },
  };
}
