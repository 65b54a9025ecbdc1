/**
 * Creating a differencing disk off a 2040 GiB (sparse) parent: the child is only metadata (a 1,044,480-entry BAT,
 * ~4 MB), so it should cost about what writing that many bytes costs. Two comparisons:
 * - the writer alone (open, writeDifferencingDisk, close) vs one `fs.writeFile` of as many bytes;
 * - the whole atomic creation (temp file, fsync, no-clobber link, folder fsync) vs `fs.writeFile` + fsync;
 * - for information, what a user calls (ops `createDifferencingDisk`: every validation rule, the parent's chain opened
 *   and inspected, the atomic write, the new disk inspected) vs the same peer.
 */
import { open, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createFileAtomically } from "../provider/storage/atomic-create";
import { createDifferencingDisk } from "../provider/ops/create-differencing";
import { MAX_VIRTUAL_SIZE } from "../provider/vhd/format";
import { localStorage } from "../provider/storage/local/local-storage";
import { readParentFacts } from "../provider/vhd/writer/parent-footer";
import { writeBaseDisk, writeDifferencingDisk } from "../provider/vhd/writer/writer";
import { alternate, compare, type Comparison } from "./harness";

const RUNS = 15;

export async function benchCreateDifferencing(folder: string): Promise<Comparison[]> {
  const parentPath = join(folder, "parent-2040g.vhd");
  await createFileAtomically(
    parentPath,
    (file) => writeBaseDisk(file, { imagePath: parentPath, size: MAX_VIRTUAL_SIZE, type: "dynamic" }),
    { storage: localStorage },
  );
  const parent = await readParentFacts(localStorage, parentPath);
  const childPath = join(folder, "child.vhd");
  const peerPath = join(folder, "peer.bin");

  const writeChild = async (): Promise<void> => {
    await rm(childPath, { force: true });
    const file = await localStorage.createExclusive(childPath);
    try {
      await writeDifferencingDisk(file, parent, { imagePath: childPath, parentPath });
    } finally {
      await file.close();
    }
  };
  await writeChild();
  const childBytes = (await stat(childPath)).size;
  const sameBytes = Buffer.alloc(childBytes, 0xff);
  const writePeer = async (): Promise<void> => {
    await rm(peerPath, { force: true });
    await writeFile(peerPath, sameBytes);
  };
  const writerOnly = await alternate(RUNS, writeChild, writePeer);

  const createChildAtomically = async (): Promise<void> => {
    await rm(childPath, { force: true });
    await createFileAtomically(childPath, (file) => writeDifferencingDisk(file, parent, { imagePath: childPath, parentPath }), {
      storage: localStorage,
    });
  };
  const writePeerDurably = async (): Promise<void> => {
    await rm(peerPath, { force: true });
    const handle = await open(peerPath, "wx");
    try {
      await handle.writeFile(sameBytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
  };
  const durable = await alternate(RUNS, createChildAtomically, writePeerDurably);
  const createThroughOps = async (): Promise<void> => {
    await rm(childPath, { force: true });
    await createDifferencingDisk({ imagePath: childPath, parentPath, pathRules: "posix" });
  };
  const endToEnd = await alternate(RUNS, createThroughOps, writePeerDurably);
  await rm(childPath, { force: true });
  await rm(peerPath, { force: true });
  await rm(parentPath, { force: true });

  const facts = { parentVirtualSize: MAX_VIRTUAL_SIZE, childFileBytes: childBytes };
  const within = (factor: number) => (oursMs: number, peerMs: number) => oursMs <= factor * peerMs;
  return [
    compare(
      {
        name: "create a differencing disk off a 2040 GiB parent (writer)",
        ours: "open + writeDifferencingDisk + close",
        peer: `fs.writeFile of ${childBytes} bytes`,
        ...writerOnly,
        target: "within 1.5x of fs.writeFile",
        facts,
      },
      within(1.5),
    ),
    compare(
      {
        name: "create a differencing disk off a 2040 GiB parent (atomic and durable)",
        ours: "createFileAtomically(writeDifferencingDisk): temp, fsync, link, folder fsync",
        peer: `open + writeFile of ${childBytes} bytes + fsync + close`,
        ...durable,
        target: "within 1.5x of writeFile + fsync",
        facts,
      },
      within(1.5),
    ),
    compare(
      {
        name: "create a differencing disk off a 2040 GiB parent (ops, for information)",
        ours: "ops createDifferencingDisk: validation, parent chain check, atomic write, inspect",
        peer: `open + writeFile of ${childBytes} bytes + fsync + close`,
        ...endToEnd,
        target: "none (informational; the writer targets are above)",
        facts,
      },
      () => true,
    ),
  ];
}
