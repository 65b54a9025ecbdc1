/**
 * mergeDisk interrupted half way (cancelled after its first window was written into the parent): the child still
 * reads as before, for us and pyvhdi, and running the merge again finishes it.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mergeDisk } from "../../provider/ops/merge-disk";
import { writeAt } from "../../provider/vhd/writer/block-writer";
import { pyvhdiReadChain } from "../support/oracles";
import { MIB, createBase, createChild, readComposed, sha256, tempFolder } from "../vhd/writer/disks";

let folder: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ folder, cleanup } = await tempFolder("merge-ops"));
});
afterAll(async () => {
  await cleanup();
});

describe("mergeDisk", () => {
  it("leaves the chain reading the same when interrupted, and finishes when run again", async () => {
    const parent = join(folder, "golden.vhd");
    const child = join(folder, "vm.vhd");
    await createBase(parent, { size: 8 * MIB, type: "dynamic", blockSize: 512 * 1024 });
    await writeAt(parent, 0, Buffer.alloc(5 * MIB, 0x5a));
    await createChild(child, parent, 512 * 1024);
    for (const offset of [0, 3 * MIB, 6 * MIB]) await writeAt(child, offset + 4096, Buffer.alloc(MIB, offset / MIB + 1));
    const expected = await readComposed(child);
    const parentBefore = sha256(await readFile(parent));

    const controller = new AbortController();
    const interrupted = mergeDisk({
      imagePath: child,
      signal: controller.signal,
      onProgress: ({ bytesDone }) => {
        if (bytesDone >= 2 * MIB) controller.abort();
      },
    });
    await expect(interrupted).rejects.toMatchObject({ code: "VM_E_APP_SHUTTING_DOWN", parameter: "imagePath", path: child });
    // The error must not say "nothing was kept": the parent has changed, and a user who believes it did not would
    // make new children of a half-merged golden image.
    const message = await interrupted.catch((error: Error) => error.message);
    expect(message).not.toMatch(/nothing was kept/);
    expect(message).toContain(parent);
    expect(message).toMatch(/run .*merge again/);
    // Half merged: the parent changed, the child is still there and reads as before.
    expect(sha256(await readFile(parent))).not.toBe(parentBefore);
    expect((await readComposed(child)).equals(expected)).toBe(true);
    expect((await pyvhdiReadChain([child, parent], join(folder, "pyvhdi.raw"))).sha256).toBe(sha256(expected));

    const result = await mergeDisk({ imagePath: child });
    expect(result.merged).toEqual([child]);
    expect(existsSync(child)).toBe(false);
    expect((await readComposed(parent)).equals(expected)).toBe(true);
    expect((await pyvhdiReadChain([parent], join(folder, "pyvhdi.raw"))).sha256).toBe(sha256(expected));
  });
});
