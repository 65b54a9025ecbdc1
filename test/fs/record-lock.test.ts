/**
 * The lock file of a record changed by several processes (fs/record-lock.ts): taken with O_EXCL, let go after the
 * work, and broken only when stale (its holder on this host no longer runs, or it is older than any holder keeps it).
 * Real files and real processes.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { recordLockPath, withRecordLock } from "../../provider/fs/record-lock";

let dir: string;
let record: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "vhd-record-lock-"));
  record = join(dir, ".golden.vhd.pulumi-vhd-holds");
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function leaveLock(holder: { pid: number; host: string }, ageSeconds = 0): void {
  writeFileSync(recordLockPath(record), JSON.stringify({ ...holder, since: Date.now() - ageSeconds * 1000 }));
  const time = new Date(Date.now() - ageSeconds * 1000);
  utimesSync(recordLockPath(record), time, time);
}

/** The pid of a process that has exited (pids are not reused this quickly). */
function exitedPid(): number {
  const child = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
  return Number(child.stdout);
}

describe("a record's lock", () => {
  it("is held while the work runs and let go after it, also when the work fails", async () => {
    const seen = await withRecordLock(record, async () => JSON.parse(readFileSync(recordLockPath(record), "utf8")) as { pid: number }, { parameter: "parentPath" });
    expect(seen.pid).toBe(process.pid);
    expect(existsSync(recordLockPath(record))).toBe(false);
    await expect(withRecordLock(record, () => Promise.reject(new Error("boom")), { parameter: "parentPath" })).rejects.toThrow("boom");
    expect(existsSync(recordLockPath(record))).toBe(false);
  });

  it("left by a process of this host that no longer runs, is broken at once", async () => {
    leaveLock({ pid: exitedPid(), host: hostname() });
    expect(await withRecordLock(record, async () => "done", { parameter: "parentPath", waitMs: 100 })).toBe("done");
    expect(existsSync(recordLockPath(record))).toBe(false);
  });

  it("held by a running process, is waited for and, past the bound, refused naming the lock and its holder", async () => {
    // This very process stands for a live holder on this host: the lock file says another pid, but one that runs.
    leaveLock({ pid: process.ppid, host: hostname() });
    const started = Date.now();
    await expect(withRecordLock(record, async () => "never", { parameter: "parentPath", waitMs: 300 })).rejects.toThrow(
      new RegExp(`^ERROR_SHARING_VIOLATION \\(0x80070020\\): parentPath ".*\\.lock": process ${process.ppid} on ${hostname()} .* holds the lock`),
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(existsSync(recordLockPath(record))).toBe(true);
  });

  it("from another host, is waited for while fresh and broken once older than the stale age", async () => {
    leaveLock({ pid: 1, host: "elsewhere.example" }, 5);
    await expect(withRecordLock(record, async () => "never", { parameter: "parentPath", waitMs: 100, staleMs: 30_000 })).rejects.toThrow(
      /ERROR_SHARING_VIOLATION .*process 1 on elsewhere\.example/,
    );
    expect(await withRecordLock(record, async () => "done", { parameter: "parentPath", waitMs: 100, staleMs: 2_000 })).toBe("done");
    expect(existsSync(recordLockPath(record))).toBe(false);
  });
});
