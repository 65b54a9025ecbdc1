/**
 * Early flushing (storage/early-flush.ts): a durable create syncs its file in the background as it is written, one
 * sync at a time, so the final sync has little left; a failed background sync fails the create, leaving nothing.
 */
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { VhdError } from "../../provider/errors";
import { createFileAtomically } from "../../provider/storage/atomic-create";
import { EARLY_FLUSH_INTERVAL, EarlyFlush } from "../../provider/storage/early-flush";
import { localStorage } from "../../provider/storage/local/local-storage";
import type { Storage } from "../../provider/storage/port";
import type { RandomAccessFile } from "../../provider/storage/random-access-file";
import { wrappedFile } from "../../provider/storage/wrapped-file";

let folder: string;
beforeEach(async () => {
  folder = await mkdtemp(join(tmpdir(), "vhd-early-flush-"));
});
afterEach(async () => {
  await rm(folder, { recursive: true, force: true });
});

/** What happened to a file, in order: `write <bytes>`, `sync start`, `sync end`. */
type Events = string[];

/** `file` with its writes and syncs logged into `events`; a sync fails with `syncFailure` when one is given. */
function loggedFile(file: RandomAccessFile, events: Events, syncFailure?: () => Error | undefined): RandomAccessFile {
  return wrappedFile(file, {
    async write(position, bytes) {
      events.push(`write ${bytes.length}`);
      await file.write(position, bytes);
    },
    async sync() {
      events.push("sync start");
      const failure = syncFailure?.();
      try {
        if (failure !== undefined) throw failure;
        await file.sync();
      } finally {
        events.push("sync end");
      }
    },
  });
}

/** The local storage, with every file it creates logged ({@link loggedFile}). */
function loggedStorage(events: Events, syncFailure?: () => Error | undefined): Storage {
  return { ...localStorage, createExclusive: async (path, options) => loggedFile(await localStorage.createExclusive(path, options), events, syncFailure) };
}

describe("EarlyFlush", () => {
  it("starts a sync each interval of bytes written, never two at once, and settle waits for the last", async () => {
    const events: Events = [];
    const file = await localStorage.createExclusive(join(folder, "f.bin"));
    try {
      const early = new EarlyFlush(loggedFile(file, events), 1000);
      for (let index = 0; index < 8; index++) await early.file.write(index * 600, new Uint8Array(600).fill(index + 1));
      await early.settle();
      expect(events.filter((event) => event === "sync start").length).toBeGreaterThanOrEqual(1);
      let running = 0;
      for (const event of events) {
        if (event === "sync start") expect(++running).toBe(1);
        if (event === "sync end") running--;
      }
      expect(running).toBe(0);
      expect(early.file.size).toBe(4800);
    } finally {
      await file.close();
    }
  });

  it("a failed background sync fails the next write and settle", async () => {
    const file = await localStorage.createExclusive(join(folder, "g.bin"));
    const broken = new VhdError("ERROR_DISK_FULL", "the device went away", { parameter: "target", path: file.path });
    try {
      const early = new EarlyFlush(loggedFile(file, [], () => broken), 100);
      await early.file.write(0, new Uint8Array(100));
      await expect(early.settle()).rejects.toBe(broken);
      await expect(early.file.write(100, new Uint8Array(1))).rejects.toBe(broken);
    } finally {
      await file.close();
    }
  });
});

describe("createFileAtomically flushes early", () => {
  const half = new Uint8Array(EARLY_FLUSH_INTERVAL).fill(0x5a);

  it(`a file of ${EARLY_FLUSH_INTERVAL / 2 ** 20} MiB and 4 KiB: a sync during the writing, and the final one after every background one`, async () => {
    const events: Events = [];
    const target = join(folder, "big.bin");
    await createFileAtomically(
      target,
      async (file) => {
        await file.write(0, half);
        await file.write(half.length, half.subarray(0, 4096));
      },
      { storage: loggedStorage(events) },
    );
    const firstSync = events.indexOf("sync start");
    expect(firstSync).toBeGreaterThan(0);
    expect(firstSync).toBeLessThan(events.indexOf("write 4096"));
    // The final sync starts after every earlier sync ended.
    const lastStart = events.lastIndexOf("sync start");
    expect(events.slice(0, lastStart).filter((event) => event === "sync start").length).toBe(
      events.slice(0, lastStart).filter((event) => event === "sync end").length,
    );
    expect(events[events.length - 1]).toBe("sync end");
    const written = await readFile(target);
    expect(written.length).toBe(half.length + 4096);
    expect(written.every((byte) => byte === 0x5a)).toBe(true);
  });

  it("a background sync that fails fails the create, though the final one would pass: nothing at the target, no temporary file", async () => {
    const target = join(folder, "failed.bin");
    const broken = new VhdError("ERROR_DISK_FULL", "the device went away", { parameter: "target", path: target });
    let syncs = 0;
    const creating = createFileAtomically(
      target,
      async (file) => {
        await file.write(0, half);
      },
      { storage: loggedStorage([], () => (++syncs === 1 ? broken : undefined)), parameter: "target" },
    );
    await expect(creating).rejects.toMatchObject({ code: "ERROR_DISK_FULL" });
    expect(await readdir(folder)).toEqual([]);
  });
});
