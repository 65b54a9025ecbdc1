/**
 * The lock file of a record changed by several processes (storage/record-lock.ts): taken exclusively, let go after
 * the work, and broken only when stale (its holder, of this boot and pid namespace by its process tag, no longer runs,
 * or it is older than any holder keeps it). On real files and on the in-memory storage; the holders are real processes either way.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { readJsonRecord, replaceJsonRecord } from "../../provider/storage/json-record";
import { CREATOR_TAG } from "../../provider/storage/process-tag";
import { localStorage } from "../../provider/storage/local/local-storage";
import { MemoryStorage } from "../../provider/storage/memory/memory-storage";
import type { Storage } from "../../provider/storage/port";
import { recordLockPath, withRecordLock } from "../../provider/storage/record-lock";
import { SshStorage } from "../../provider/storage/ssh/ssh-storage";
import { connectionTo, useSshd } from "./ssh/ssh-fixture";

/** What a test's lock file says of its holder; `tag` absent as in locks of earlier versions. */
interface Holder {
  pid: number;
  host: string;
  tag?: string;
}

interface Place {
  storage: Storage;
  record: string;
  /** Puts a lock file saying `holder` at the record's lock path, its file time `ageSeconds` in the past. */
  leaveLock(holder: Holder, ageSeconds?: number): void;
  dispose(): void;
}

function lockText(holder: Holder, ageSeconds: number): string {
  return JSON.stringify({ ...holder, since: Date.now() - ageSeconds * 1000, nonce: "0123456789abcdef" });
}

const places: Record<string, () => Place> = {
  local: () => {
    const dir = mkdtempSync(join(tmpdir(), "vhd-record-lock-"));
    const record = join(dir, ".golden.vhd.pulumi-vhd-holds");
    return {
      storage: localStorage,
      record,
      leaveLock(holder, ageSeconds = 0) {
        writeFileSync(recordLockPath(record), lockText(holder, ageSeconds));
        const time = new Date(Date.now() - ageSeconds * 1000);
        utimesSync(recordLockPath(record), time, time);
      },
      dispose: () => rmSync(dir, { recursive: true, force: true }),
    };
  },
  memory: () => {
    const storage = new MemoryStorage().addFolder("/disks");
    const record = "/disks/.golden.vhd.pulumi-vhd-holds";
    return {
      storage,
      record,
      leaveLock(holder, ageSeconds = 0) {
        // The in-memory clock cannot be set back: only fresh locks are left there.
        if (ageSeconds !== 0) throw new Error("the memory storage leaves fresh locks only");
        storage.addFile(recordLockPath(record), new TextEncoder().encode(lockText(holder, 0)));
      },
      dispose: () => undefined,
    };
  },
};

/** The pid of a process that has exited (pids are not reused this quickly). */
function exitedPid(): number {
  const child = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
  return Number(child.stdout);
}

let place: Place | undefined;
afterEach(() => place?.dispose());

async function lockExists(at: Place): Promise<boolean> {
  return (await at.storage.pathFacts(recordLockPath(at.record))).kind !== "missing";
}

describe.each(Object.keys(places))("a record's lock on %s storage", (name) => {
  const open = (): Place => (place = places[name]!());

  it("is held while the work runs and let go after it, also when the work fails", async () => {
    const { storage, record } = open();
    const seen = await withRecordLock(storage, record, () => readJsonRecord(storage, recordLockPath(record), "parentPath"), { parameter: "parentPath" });
    expect(seen).toMatchObject({ pid: process.pid, tag: CREATOR_TAG, host: hostname() });
    expect(await lockExists(place!)).toBe(false);
    await expect(withRecordLock(storage, record, () => Promise.reject(new Error("boom")), { parameter: "parentPath" })).rejects.toThrow("boom");
    expect(await lockExists(place!)).toBe(false);
  });

  it("left by a process of this boot and pid namespace that no longer runs, is broken at once", async () => {
    const at = open();
    at.leaveLock({ pid: exitedPid(), host: hostname(), tag: CREATOR_TAG });
    expect(await withRecordLock(at.storage, at.record, async () => "done", { parameter: "parentPath", waitMs: 100 })).toBe("done");
    expect(await lockExists(at)).toBe(false);
  });

  it("left under this host name by another pid namespace (a container) or an earlier version, is waited for while fresh", async () => {
    const at = open();
    const otherTag = CREATOR_TAG === "00000000" ? "00000001" : "00000000";
    for (const holder of [{ pid: exitedPid(), host: hostname(), tag: otherTag }, { pid: exitedPid(), host: hostname() }]) {
      at.leaveLock(holder);
      await expect(
        withRecordLock(at.storage, at.record, async () => "never", { parameter: "parentPath", waitMs: 100, staleMs: 30_000 }),
      ).rejects.toThrow(/ERROR_SHARING_VIOLATION/);
      expect(await lockExists(at)).toBe(true);
      await at.storage.unlink(recordLockPath(at.record));
    }
  });

  it("held by a running process, is waited for and, past the bound, refused naming the lock and its holder", async () => {
    const at = open();
    // The test runner's parent process stands for a live holder on this host.
    at.leaveLock({ pid: process.ppid, host: hostname(), tag: CREATOR_TAG });
    const started = Date.now();
    await expect(withRecordLock(at.storage, at.record, async () => "never", { parameter: "parentPath", waitMs: 300 })).rejects.toThrow(
      new RegExp(`^ERROR_SHARING_VIOLATION \\(0x80070020\\): parentPath ".*\\.lock": process ${process.ppid} on ${hostname()} .* holds the lock`),
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(await lockExists(at)).toBe(true);
  });

  it("is not removed on letting go once it is no longer the lock this holder made", async () => {
    const at = open();
    await withRecordLock(
      at.storage,
      at.record,
      async () => {
        // Another process judged ours stale, broke it and took the lock itself (where the file system reuses inodes at
        // once, with the inode ours had).
        await at.storage.unlink(recordLockPath(at.record));
        at.leaveLock({ pid: process.ppid, host: hostname(), tag: CREATOR_TAG });
      },
      { parameter: "parentPath" },
    );
    expect(await readJsonRecord(at.storage, recordLockPath(at.record), "parentPath")).toMatchObject({ pid: process.ppid });
  });

  it("keeps every change of callers that read, change and replace the record at once", async () => {
    const { storage, record } = open();
    const add = (who: number): Promise<void> =>
      withRecordLock(
        storage,
        record,
        async () => {
          const seen = ((await readJsonRecord(storage, record, "parentPath")) as number[] | null) ?? [];
          await replaceJsonRecord(storage, record, [...seen, who], { parameter: "parentPath" });
        },
        { parameter: "parentPath" },
      );
    await Promise.all(Array.from({ length: 12 }, (_, who) => add(who)));
    const kept = (await readJsonRecord(storage, record, "parentPath")) as number[];
    expect([...kept].sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, who) => who));
  });
});

describe("a record's lock from another host", () => {
  it("is waited for while fresh and broken once older than the stale age", async () => {
    const at = (place = places.local!());
    at.leaveLock({ pid: 1, host: "elsewhere.example" }, 5);
    await expect(
      withRecordLock(at.storage, at.record, async () => "never", { parameter: "parentPath", waitMs: 100, staleMs: 30_000 }),
    ).rejects.toThrow(/ERROR_SHARING_VIOLATION .*process 1 on elsewhere\.example/);
    expect(await withRecordLock(at.storage, at.record, async () => "done", { parameter: "parentPath", waitMs: 100, staleMs: 2_000 })).toBe(
      "done",
    );
    expect(await lockExists(at)).toBe(false);
  });

  it("is waited for on the in-memory storage too while fresh", async () => {
    const at = (place = places.memory!());
    at.leaveLock({ pid: 1, host: "elsewhere.example" });
    await expect(
      withRecordLock(at.storage, at.record, async () => "never", { parameter: "parentPath", waitMs: 100, staleMs: 30_000 }),
    ).rejects.toThrow(/ERROR_SHARING_VIOLATION .*process 1 on elsewhere\.example/);
  });
});

describe("a record's lock on a remote host", () => {
  const sshd = useSshd();

  it("held by a running process, is refused naming the lock with its host", async (context) => {
    const reason = sshd.unavailable();
    if (reason !== undefined) return context.skip(reason);
    const server = sshd.server();
    const dir = mkdtempSync(join(server.root, "record-lock-"));
    const record = join(dir, ".golden.vhd.pulumi-vhd-holds");
    place = { storage: localStorage, record, leaveLock: () => undefined, dispose: () => rmSync(dir, { recursive: true, force: true }) };
    writeFileSync(recordLockPath(record), lockText({ pid: process.ppid, host: hostname(), tag: CREATOR_TAG }, 0));
    const lockUrl = `ssh://${server.user}@${server.host}:${server.port}${recordLockPath(record)}`;
    // The error's path is named by the faces (VhdError.withPathNamed); its sentence names the lock itself.
    const refused = await withRecordLock(new SshStorage(connectionTo(server)), record, async () => "never", {
      parameter: "parentPath",
      waitMs: 100,
    }).catch((error: unknown) => error);
    expect(refused).toMatchObject({ code: "ERROR_SHARING_VIOLATION" });
    expect((refused as Error).message).toContain(`process ${process.ppid} on ${hostname()} (since `);
    expect((refused as Error).message).toContain(`) holds the lock ${lockUrl} of the record beside it`);
  });
});
