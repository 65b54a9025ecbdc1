/**
 * `mergeDisk` of a VHDX chain (disk/merge.ts through the VHDX driver's `prepareMerge`), on real files: the merged
 * destination reads as the child did, for our reader and for pyvhdi; vhdiinfo accepts it and the relinked
 * grandchild, whose parent identifier is the destination's new DataWriteGuid; the same refusals as a VHD merge.
 * Crash safety: `mergeDisk` on the memory adapter with an I/O error (whole or torn) at each of its writes leaves a
 * chain that opens and reads as before (through the child while it is there, else through the destination), and
 * running the merge again finishes it.
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { openChain } from "../../provider/disk/chain";
import { writeDisk } from "../../provider/disk/formats";
import { isVhdError } from "../../provider/errors";
import { createBaseDisk } from "../../provider/ops/create-base";
import { createDifferencingDisk } from "../../provider/ops/create-differencing";
import { deleteDisk } from "../../provider/ops/delete-disk";
import { mergeDisk } from "../../provider/ops/merge-disk";
import { MemoryStorage } from "../../provider/storage/memory/memory-storage";
import type { Storage } from "../../provider/storage/port";
import { MIB } from "../../provider/vhdx/format";
import { pyvhdiReadChain, vhdiinfo } from "../support/oracles";
import { useTempDir } from "../vhd/reader/temp-dir";
import { HAVE, openVhdxPath } from "./support";

const temp = useTempDir("vhdx-merge");
const SIZE = 8 * MIB;

/**
 * golden.vhdx (random data, 1 MiB blocks) <- child.vhdx (writes over three blocks, one straddling two) <-
 * grand.vhdx (a write of its own), in `dir`. Writes are whole 4 KiB units (libvhdi's bitmap bug, §6).
 */
async function chainIn(dir: string): Promise<{ golden: string; child: string; grand: string; childReads: Buffer; grandReads: Buffer }> {
  await mkdir(dir, { recursive: true });
  const raw = randomBytes(SIZE);
  await writeFile(join(dir, "golden.raw"), raw);
  const [golden, child, grand] = ["golden.vhdx", "child.vhdx", "grand.vhdx"].map((name) => join(dir, name)) as [string, string, string];
  await createBaseDisk({ path: golden, fromRaw: join(dir, "golden.raw"), blockSize: MIB });
  await createDifferencingDisk({ imagePath: child, parentPath: golden });
  const childReads = Buffer.from(raw);
  for (const [at, length] of [[4096, 64 * 1024], [3 * MIB - 8192, 2 * MIB], [7 * MIB, MIB]] as const) {
    const data = randomBytes(length);
    await writeDisk(child, at, data);
    data.copy(childReads, at);
  }
  await createDifferencingDisk({ imagePath: grand, parentPath: child });
  const grandReads = Buffer.from(childReads);
  const own = randomBytes(8192);
  await writeDisk(grand, 5 * MIB, own);
  own.copy(grandReads, 5 * MIB);
  return { golden, child, grand, childReads, grandReads };
}

async function readChain(path: string, storage?: Storage): Promise<Buffer> {
  const chain = await openChain(path, storage === undefined ? {} : { storage });
  try {
    return Buffer.from(await chain.read(0, chain.virtualSize));
  } finally {
    await chain.close();
  }
}

describe("merge of a VHDX chain", () => {
  test("the destination reads as the child did, the relinked grandchild as before; pyvhdi and vhdiinfo agree", async (ctx) => {
    const { golden, child, grand, childReads, grandReads } = await chainIn(join(temp.path(), "a"));
    const before = await openVhdxPath(golden);
    const [oldGuid, fileId] = [before.dataWriteGuid, before.fileId];
    await before.close();

    const result = await mergeDisk({ imagePath: child, relink: [grand] });
    expect(result).toMatchObject({ merged: [child], relinked: [grand], destination: { path: golden, format: "vhdx", type: "dynamic" } });
    expect(result.bytesWritten).toBeGreaterThanOrEqual(64 * 1024 + 3 * MIB);
    expect(existsSync(child)).toBe(false);
    const after = await openVhdxPath(golden);
    const newGuid = after.dataWriteGuid;
    expect(newGuid).not.toBe(oldGuid);
    expect(after.fileId).toBe(fileId);
    await after.close();
    expect((await readChain(golden)).equals(childReads)).toBe(true);
    expect((await readChain(grand)).equals(grandReads)).toBe(true);
    // The grandchild links by parent_linkage alone again: the merge's parent_linkage2 was in the deleted child.
    const grandImage = await openVhdxPath(grand);
    expect(grandImage.parentLocator).toMatchObject({ parentLinkage: `{${newGuid}}` });
    expect(grandImage.parentLocator?.parentLinkage2).toBeUndefined();
    await grandImage.close();

    if (!HAVE.pyvhdi || !HAVE.vhdiinfo) return ctx.skip("libvhdi's vhdiinfo or pyvhdi is not installed");
    expect((await vhdiinfo(golden)).diskType).toBe("Dynamic");
    const info = await vhdiinfo(grand);
    expect(info.parentIdentifier).toBe(newGuid);
    const out = join(temp.path(), "a", "pyvhdi.raw");
    await pyvhdiReadChain([golden], out);
    expect((await readFile(out)).equals(childReads)).toBe(true);
    await pyvhdiReadChain([grand, golden], out);
    expect((await readFile(out)).equals(grandReads)).toBe(true);
  });

  test("into a further ancestor: the intermediate disk is merged and deleted too", async () => {
    const { golden, child, grand, grandReads } = await chainIn(join(temp.path(), "b"));
    const result = await mergeDisk({ imagePath: grand, destinationPath: golden });
    expect(result.merged).toEqual([grand, child]);
    expect([existsSync(grand), existsSync(child)]).toEqual([false, false]);
    expect((await readChain(golden)).equals(grandReads)).toBe(true);
  });

  test("refused, nothing written, while a child of the merged disk is not listed to relink (as a VHD merge)", async () => {
    const { golden, child, grand } = await chainIn(join(temp.path(), "c"));
    const bytes = await Promise.all([golden, child, grand].map((path) => readFile(path)));
    const error: unknown = await mergeDisk({ imagePath: child }).catch((caught: unknown) => caught);
    expect(isVhdError(error) && error.code).toBe("ERROR_SHARING_VIOLATION");
    expect(String(error)).toContain(`--relink ${grand}`);
    const now = await Promise.all([golden, child, grand].map((path) => readFile(path)));
    expect(now.map((buffer, index) => buffer.equals(bytes[index] ?? Buffer.alloc(0)))).toEqual([true, true, true]);
  });
});

describe("a VHDX merge interrupted at each of its writes", () => {
  test("an I/O error (whole or torn) leaves a chain that opens and reads as before; running it again finishes", async () => {
    const { golden, child, grand, childReads, grandReads } = await chainIn(join(temp.path(), "io"));
    // The same paths under /d on the memory adapter (the relink's absolute_win32_path then names /d/...).
    const files = await Promise.all([golden, child, grand].map(async (path) => [path, Uint8Array.from(await readFile(path))] as const));
    const storageWith = (): MemoryStorage => {
      const storage = new MemoryStorage();
      for (const [path, bytes] of files) storage.addFile(path.replace(temp.path(), "/d"), bytes);
      return storage;
    };
    const [g, c, gc] = [golden, child, grand].map((path) => path.replace(temp.path(), "/d")) as [string, string, string];
    const args = { imagePath: c, relink: [gc] };
    const goldenBytes = Uint8Array.from(await readFile(golden));
    const opened = await openVhdxPath(child);
    const childFileId = opened.fileId;
    await opened.close();
    const clean = storageWith();
    const start = clean.writes;
    await mergeDisk({ ...args, storage: clean });
    const total = clean.writes - start;
    expect(total).toBeGreaterThan(10);
    const stages = new Set<string>();
    for (let nth = 1; nth <= total; nth++) {
      for (const tornBytes of [0, 5]) {
        const storage = storageWith().failWrite(nth, { errno: "EIO", tornBytes });
        const failure: unknown = await mergeDisk({ ...args, storage }).then(() => undefined, (error: unknown) => error);
        const where = `write ${nth} of ${total}, torn ${tornBytes}`;
        expect(failure === undefined || isVhdError(failure), `${where}: ${String(failure)}`).toBe(true);
        // Every disk that reads through the chain reads as before: the child (deleted last, by no write), the grandchild.
        expect(storage.fileBytes(c) !== undefined, where).toBe(true);
        expect((await readChain(c, storage)).equals(childReads), where).toBe(true);
        expect((await readChain(gc, storage)).equals(grandReads), where).toBe(true);
        // Before the relinks, the merge runs again; after them, only the deletes were left (the grandchild now
        // depends on the destination, so a merge run again refuses, as a VHD merge does): finish them by hand.
        const grandChain = await openChain(gc, { storage });
        const relinked = grandChain.images[1]?.path === g;
        await grandChain.close();
        const untouched = Buffer.compare(storage.fileBytes(g) ?? new Uint8Array(0), goldenBytes) === 0;
        stages.add(relinked ? "grandchild relinked" : untouched ? "destination untouched" : "destination written");
        if (relinked) await deleteDisk({ imagePath: c, expectedUniqueId: childFileId, storage });
        else await mergeDisk({ ...args, storage });
        expect(storage.fileBytes(c), `${where}, run again`).toBeUndefined();
        expect((await readChain(g, storage)).equals(childReads), `${where}, run again`).toBe(true);
        expect((await readChain(gc, storage)).equals(grandReads), `${where}, run again`).toBe(true);
      }
    }
    expect([...stages].sort()).toEqual(["destination untouched", "destination written", "grandchild relinked"]);
  });
});
