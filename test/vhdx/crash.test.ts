/**
 * Crash safety of writeVhdxAt where it allocates: stopped after every write it makes (and with that write torn),
 * the file still opens and each block reads either its old or its new content, in an empty dynamic base (blocks
 * allocated, BAT entries FULLY_PRESENT) and in a child (blocks allocated PARTIALLY_PRESENT with sector bits).
 * Writes into blocks already in the file go in place, so there the guarantee is a disk's: per sector.
 * The BAT entries and bitmap bits go through the log (MS-VHDX §2.3): some crash points leave a live log, which our
 * reader replays in memory and our next write replays into the file. pyvhdi never replays a log (docs/vhdx-format.md
 * §7), so it is compared with our reader where the log is empty, and after our writer replayed it; qemu-img check
 * -r all replays a crashed base's log itself, and qemu then reads it as we do. The same write through the driver
 * on the storage port's memory adapter, with an I/O error (whole or torn) at each of its writes, leaves old or new
 * content too, and never touches the parent.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { MIB, NIL_GUID } from "../../provider/vhdx/format";
import { openVhdx, type ParentReader } from "../../provider/vhdx/reader";
import { parentFactsOf, writeVhdxAt, writeVhdxBase, writeVhdxChild } from "../../provider/vhdx/writer";
import { isVhdError } from "../../provider/errors";
import { MemoryFile, SimulatedCrash } from "../../provider/storage/memory/memory-file";
import { MemoryStorage } from "../../provider/storage/memory/memory-storage";
import { driverForNewFile } from "../../provider/disk/formats";
import { pyvhdiReadChain } from "../support/oracles";
import { useTempDir } from "../vhd/reader/temp-dir";
import { HAVE, run } from "./support";
import { rawContent } from "../../provider/disk/content";

const temp = useTempDir("vhdx-crash");

const SIZE = 8 * MIB;
const BLOCK = MIB;

async function baseBytes(fill: number): Promise<Uint8Array> {
  const file = new MemoryFile("base.vhdx", new Uint8Array(0));
  const raw = new MemoryFile("raw", new Uint8Array(SIZE).fill(fill));
  await writeVhdxBase(file, { kind: "dynamic", virtualSize: SIZE, blockSize: BLOCK, ...(fill === 0 ? {} : { content: rawContent(raw) }) });
  return Uint8Array.from(file.bytes);
}

async function childBytes(parent: Uint8Array): Promise<Uint8Array> {
  const image = await openVhdx(new MemoryFile("parent.vhdx", parent));
  const file = new MemoryFile("child.vhdx", new Uint8Array(0));
  await writeVhdxChild(file, { parent: parentFactsOf(image, { absoluteWin32Path: "\\\\?\\C:\\parent.vhdx" }), blockSize: BLOCK });
  return Uint8Array.from(file.bytes);
}

/** The write every test makes: from inside block 0 across block 1 into block 2, sector-unaligned at both ends. */
const WRITE_AT = BLOCK - 4096 - 100;
const WRITE_DATA = new Uint8Array(BLOCK + 8192).fill(0xee);

/** Runs the write against a copy of `initial` that crashes at `crashAt`; returns the bytes a crash leaves. */
async function crashed(initial: Uint8Array, crashAt: { writes: number; tornBytes?: number } | undefined, parent?: ParentReader): Promise<{ bytes: Uint8Array; writes: number }> {
  const file = new MemoryFile("disk.vhdx", initial, crashAt);
  await writeVhdxAt(file, WRITE_AT, WRITE_DATA, { parent }).catch((error: unknown) => {
    if (!(error instanceof SimulatedCrash)) throw error;
  });
  return { bytes: file.bytes, writes: file.writes };
}

/** Whether the file `bytes` holds has a live log (its current header names a LogGuid with entries to replay). */
async function hasLiveLog(bytes: Uint8Array): Promise<boolean> {
  const image = await openVhdx(new MemoryFile("probe.vhdx", bytes));
  return image.header.logGuid !== NIL_GUID && image.replayedLog.length > 0;
}

/** What our reader reads of the disk `bytes` holds (through `parent` for a child). */
async function ourReading(bytes: Uint8Array, parent?: ParentReader): Promise<Buffer> {
  const image = await openVhdx(new MemoryFile("ours.vhdx", bytes));
  return Buffer.from(await image.read(0, SIZE, parent));
}

/** pyvhdi's reading of the disk `bytes` holds, written to a file (beside `parentPath` for a child). */
async function pyvhdiReading(bytes: Uint8Array, name: string, parentPath?: string): Promise<Buffer> {
  const path = join(temp.path(), name);
  await writeFile(path, bytes);
  await pyvhdiReadChain(parentPath === undefined ? [path] : [path, parentPath], `${path}.raw`);
  return readFile(`${path}.raw`);
}

/** Each block of the disk `bytes` reads wholly old or wholly new, where `expectedNew` is the whole new content. */
async function expectOldOrNew(bytes: Uint8Array, old: Uint8Array, expectedNew: Uint8Array, parent?: ParentReader): Promise<void> {
  const image = await openVhdx(new MemoryFile("after.vhdx", bytes));
  const content = await image.read(0, SIZE, parent);
  for (let block = 0; block < SIZE / BLOCK; block++) {
    const range = [block * BLOCK, (block + 1) * BLOCK] as const;
    const got = Buffer.from(content.subarray(...range));
    const isOld = got.equals(Buffer.from(old.subarray(...range)));
    const isNew = got.equals(Buffer.from(expectedNew.subarray(...range)));
    expect(isOld || isNew, `block ${block}`).toBe(true);
  }
}

/**
 * What a test of `child` (else an empty dynamic base) starts from: the parent's bytes and a reader of them, the
 * disk's bytes before the write, and its content before and after.
 */
async function scenario(child: boolean): Promise<{
  parentBytes: Uint8Array;
  parent: ParentReader | undefined;
  initial: Uint8Array;
  old: Uint8Array;
  expectedNew: Uint8Array;
}> {
  const parentBytes = await baseBytes(0x33);
  const parentImage = await openVhdx(new MemoryFile("parent.vhdx", parentBytes));
  const parent: ParentReader | undefined = child ? { read: (offset, length) => parentImage.read(offset, length) } : undefined;
  const initial = child ? await childBytes(parentBytes) : await baseBytes(0);
  const old = new Uint8Array(SIZE).fill(child ? 0x33 : 0);
  const expectedNew = Uint8Array.from(old);
  expectedNew.set(WRITE_DATA, WRITE_AT);
  return { parentBytes, parent, initial, old, expectedNew };
}

describe.each([
  ["a dynamic base", false],
  ["a differencing child", true],
] as const)("%s", (_, child) => {
  test("every crash point leaves old or new content per block", async () => {
    const { parent, initial, old, expectedNew } = await scenario(child);
    const { writes } = await crashed(initial, undefined, parent);
    expect(writes).toBeGreaterThan(3);
    await expectOldOrNew((await crashed(initial, undefined, parent)).bytes, old, expectedNew, parent);
    let liveLogs = 0;
    for (let point = 0; point < writes; point++) {
      for (const tornBytes of [0, 5]) {
        const { bytes } = await crashed(initial, { writes: point, tornBytes }, parent);
        await expectOldOrNew(bytes, old, expectedNew, parent);
        if (await hasLiveLog(bytes)) liveLogs++;
        // The next write replays a live log into the file first, then lands whole.
        const again = new MemoryFile("again.vhdx", bytes);
        await writeVhdxAt(again, WRITE_AT, WRITE_DATA, { parent });
        expect(await hasLiveLog(again.bytes)).toBe(false);
        expect((await ourReading(again.bytes, parent)).equals(Buffer.from(expectedNew))).toBe(true);
      }
    }
    // The metadata went through the log: some crash points leave it live (entry written, not yet applied).
    expect(liveLogs).toBeGreaterThan(0);
  });

  test("pyvhdi reads each crashed file as our reader does where the log is empty, and after our writer replayed it", async (ctx) => {
    if (!HAVE.pyvhdi) ctx.skip("pyvhdi (python3-pyvhdi) is not installed here");
    const { parentBytes, parent, initial } = await scenario(child);
    const parentPath = child ? join(temp.path(), `parent-${child}.vhdx`) : undefined;
    if (parentPath !== undefined) await writeFile(parentPath, parentBytes);
    const { writes } = await crashed(initial, undefined, parent);
    for (let point = 0; point < writes; point++) {
      let { bytes } = await crashed(initial, { writes: point }, parent);
      if (await hasLiveLog(bytes)) {
        // Replayed into the file by a write of nothing new: the first sector, rewritten with what it reads.
        const replay = new MemoryFile("replay.vhdx", bytes);
        await writeVhdxAt(replay, 0, (await ourReading(bytes, parent)).subarray(0, 512), { parent });
        bytes = replay.bytes;
      }
      const ours = await ourReading(bytes, parent);
      expect((await pyvhdiReading(bytes, `crash-${child}-${point}.vhdx`, parentPath)).equals(ours), `crash point ${point}`).toBe(true);
    }
  });

  test("an I/O error at each write of `vhd write`'s path (the driver on the memory adapter) leaves old or new content", async () => {
    const { parentBytes, parent, initial, old, expectedNew } = await scenario(child);
    // The child's locator names C:\parent.vhdx, whose file name is tried next to the child (docs/vhdx-format.md §5).
    const storageWith = (bytes: Uint8Array): MemoryStorage =>
      new MemoryStorage().addFolder("/d").addFile("/d/parent.vhdx", parentBytes).addFile("/d/disk.vhdx", bytes);
    const vhdxDriver = driverForNewFile("/d/disk.vhdx");
    const clean = storageWith(initial);
    await vhdxDriver.writeAt("/d/disk.vhdx", WRITE_AT, WRITE_DATA, { storage: clean });
    const total = clean.writes;
    expect((await ourReading(clean.fileBytes("/d/disk.vhdx") ?? new Uint8Array(0), parent)).equals(Buffer.from(expectedNew))).toBe(true);
    for (let nth = 1; nth <= total; nth++) {
      for (const tornBytes of [0, 5]) {
        const storage = storageWith(initial).failWrite(nth, { errno: "EIO", tornBytes });
        const failure = await vhdxDriver.writeAt("/d/disk.vhdx", WRITE_AT, WRITE_DATA, { storage }).then(() => undefined, (error: unknown) => error);
        // A truncation with a torn fault still happens (the adapter applies one byte of it): then the write completes.
        if (failure !== undefined) expect(isVhdError(failure), `write ${nth}: ${String(failure)}`).toBe(true);
        await expectOldOrNew(storage.fileBytes("/d/disk.vhdx") ?? new Uint8Array(0), old, expectedNew, parent);
        expect(Buffer.compare(storage.fileBytes("/d/parent.vhdx") ?? new Uint8Array(0), parentBytes)).toBe(0);
      }
    }
  });
});

test("qemu-img check -r all replays the live log a crash left in a base, and qemu then reads it as we do", async (ctx) => {
  if (!HAVE.qemuImg) ctx.skip("qemu-img (qemu-utils) is not installed here");
  const initial = await baseBytes(0);
  const { writes } = await crashed(initial, undefined);
  let bytes: Uint8Array | undefined;
  for (let point = 0; point < writes && bytes === undefined; point++) {
    const left = (await crashed(initial, { writes: point })).bytes;
    if (await hasLiveLog(left)) bytes = left;
  }
  if (bytes === undefined) throw new Error("no crash point left a live log");
  const ours = await ourReading(bytes);
  const path = join(temp.path(), "live-log.vhdx");
  await writeFile(path, bytes);
  await run("qemu-img", ["check", "-r", "all", "-f", "vhdx", path]);
  await run("qemu-img", ["convert", "-f", "vhdx", "-O", "raw", path, `${path}.raw`]);
  expect((await readFile(`${path}.raw`)).equals(ours)).toBe(true);
  expect(await hasLiveLog(new Uint8Array(await readFile(path)))).toBe(false);
});
