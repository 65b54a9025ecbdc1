/**
 * `Merge-VHD` as a use case: merge a differencing disk (and the disks between it and the destination) into its parent
 * or a further ancestor, then delete the merged disks, as Merge-VHD does. Disks that depend on what changes are looked
 * for first (in the folders of the chain, as `delete` does) and the merge is refused while any would be corrupted:
 * a disk using the destination or an intermediate disk as its parent always, a disk using the merged child as its
 * parent unless the caller lists it to be relinked to the destination (which then reads as the child did). A disk
 * to be merged away that a Pulumi resource owns (ops/ownership.ts) is refused too: the merge deletes it.
 */
import { dirname, resolve } from "node:path";
import { VhdError } from "../errors";
import { sameFile } from "../storage/facts";
import { localStorage } from "../storage/local/local-storage";
import type { Storage } from "../storage/port";
import type { ProgressCallback } from "../support/progress";
import type { PathRules } from "../inputs/paths";
import { openChain } from "../disk/chain";
import { childDisksInFolder } from "../disk/child-disks";
import { inspectDisk, type DiskInfo } from "../disk/inspect";
import { mergeIntoAncestor } from "../disk/merge";
import { deleteDisk } from "./delete-disk";
import { managedElsewhere, ownerOf } from "./ownership";
import { setParent } from "./set-parent";

/** Arguments of {@link mergeDisk}. */
export interface MergeDiskArgs {
  /** The differencing disk to merge (relative: to the current directory). */
  imagePath: string;
  /** The ancestor to merge into (default: the parent); relative: to the current directory. */
  destinationPath?: string;
  /** Disks that use `imagePath` as their parent, to point at the destination once it holds the child's data. */
  relink?: readonly string[];
  /** Path rules for the relinked disks' new parent path (default `"windows"`). */
  pathRules?: PathRules;
  signal?: AbortSignal;
  /** Virtual bytes looked at so far, of the virtual size. */
  onProgress?: ProgressCallback;
  /** Where the disks are (default: this machine). */
  storage?: Storage;
}

/** What {@link mergeDisk} did. */
export interface MergeDiskResult {
  /** The destination, as it reads now (as the child did). */
  destination: DiskInfo;
  /** The disks merged and deleted: the child first, then each intermediate disk. */
  merged: string[];
  /** The disks now pointing at the destination instead of the child. */
  relinked: string[];
  /** Virtual bytes written into the destination. */
  bytesWritten: number;
}

/** A disk of the chain: its children link to `uniqueId`; its owner and its delete go by `fileId`. */
interface ChainDisk {
  path: string;
  uniqueId: string;
  fileId: string;
}

/** The disks in the chain's folders whose parent is `parent`, other than the chain's own. */
async function dependentsOf(
  storage: Storage,
  parent: ChainDisk,
  folders: readonly string[],
  chain: readonly string[],
): Promise<string[]> {
  const found: string[] = [];
  for (const folder of folders) found.push(...(await childDisksInFolder(folder, parent.uniqueId, [...chain], storage)));
  return found;
}

/**
 * Merges the differencing disk at `imagePath` into its ancestor `destinationPath` (default: its parent), relinks the
 * listed dependents of the child to the destination, and deletes the merged disks. An interruption before the
 * deletions leaves every chain reading as before; running it again finishes the merge.
 *
 * VHD or VHDX alike (disk/merge.ts, the format's `prepareMerge`): a VHDX destination gets a new DataWriteGuid, which
 * the relinked dependents then record.
 *
 * @throws `ERROR_VHD_INVALID_TYPE` (not a differencing disk), `E_INVALIDARG` (the destination is not an ancestor; a
 *   `relink` entry does not use the child as its parent), `ERROR_SHARING_VIOLATION` (a disk depends on the destination
 *   or an intermediate disk, or on the child without being listed in `relink`), the chain's errors (opened strictly),
 *   the driver's errors readying the destination and its block writer's, `VM_E_APP_SHUTTING_DOWN`.
 */
export async function mergeDisk(args: MergeDiskArgs): Promise<MergeDiskResult> {
  const imagePath = resolve(args.imagePath);
  const storage = args.storage ?? localStorage;
  const chain = await openChain(imagePath, { strict: true, parameter: "imagePath", storage });
  const disks = chain.images.map((image): ChainDisk => ({ path: image.path, uniqueId: image.uniqueId, fileId: image.fileId }));
  let depth: number;
  let bytesWritten: number;
  try {
    if (disks.length < 2) {
      throw new VhdError("ERROR_VHD_INVALID_TYPE", `a ${chain.leaf.kind} disk has no parent to merge into; give a differencing disk`, {
        parameter: "imagePath",
        path: imagePath,
      });
    }
    depth = args.destinationPath === undefined ? 1 : await ancestorDepth(storage, disks, resolve(args.destinationPath));
    await checkDependents(storage, imagePath, disks.slice(0, depth + 1), args.relink ?? []);
    ({ bytesWritten } = await mergeIntoAncestor(chain, depth, {
      signal: args.signal,
      storage,
      onProgress: (bytesDone) => args.onProgress?.({ bytesDone, bytesTotal: chain.virtualSize }),
    }));
  } finally {
    await chain.close();
  }
  const destination = disks[depth] as ChainDisk;
  const relinked: string[] = [];
  for (const dependent of args.relink ?? []) {
    await setParent({ imagePath: dependent, parentPath: destination.path, ignoreIdMismatch: true, pathRules: args.pathRules, storage });
    relinked.push(resolve(dependent));
  }
  const merged = disks.slice(0, depth);
  for (const disk of merged) await deleteDisk({ imagePath: disk.path, expectedUniqueId: disk.fileId, storage });
  return { destination: await inspectDisk(destination.path, { storage }), merged: merged.map((disk) => disk.path), relinked, bytesWritten };
}

/** The index in `disks` (leaf first) of the ancestor at `destination`: the same path, or the same file by device and inode. */
async function ancestorDepth(storage: Storage, disks: readonly ChainDisk[], destination: string): Promise<number> {
  const wanted = await storage.fingerprint(destination, "destinationPath");
  for (const [index, disk] of disks.entries()) {
    if (index > 0 && (disk.path === destination || sameFile(await storage.fingerprint(disk.path), wanted))) return index;
  }
  throw new VhdError(
    "E_INVALIDARG",
    `it is not an ancestor of ${storage.describe(disks[0]?.path ?? "")}, whose ancestors are ${disks
      .slice(1)
      .map((disk) => storage.describe(disk.path))
      .join(" -> ")}`,
    { parameter: "destinationPath", path: destination },
  );
}

/**
 * Refuses the merge while a disk outside `chain` (the child, the intermediate disks, the destination) would be
 * corrupted by it; checks that every `relink` entry uses the child as its parent. The refusal names each disk as
 * `storage` names a path (with its host on a remote one), and a disk another resource owns by its ownership record.
 */
async function checkDependents(storage: Storage, imagePath: string, chain: readonly ChainDisk[], relink: readonly string[]): Promise<void> {
  const named = (path: string): string => storage.describe(path);
  const paths = chain.map((disk) => disk.path);
  const wanted = relink.map((path) => resolve(path));
  const folders = [...new Set([...paths, ...wanted].map((path) => dirname(path)))];
  const [child, ...ancestors] = chain as [ChainDisk, ...ChainDisk[]];
  const destination = ancestors[ancestors.length - 1] as ChainDisk;
  const refusals: string[] = [];
  for (const dependent of await dependentsOf(storage, destination, folders, paths)) {
    refusals.push(`${named(dependent)} uses the destination ${named(destination.path)} as its parent, and the merge would change what it reads`);
  }
  for (const intermediate of ancestors.slice(0, -1)) {
    for (const dependent of await dependentsOf(storage, intermediate, folders, paths)) {
      refusals.push(`${named(dependent)} uses ${named(intermediate.path)} as its parent, which is merged away and deleted`);
    }
  }
  for (const disk of [child, ...ancestors.slice(0, -1)]) {
    const owner = await ownerOf(disk.path, disk.fileId, storage);
    if (owner !== null) {
      refusals.push(`${named(disk.path)} is ${managedElsewhere(disk.path, owner, storage)}, and the merge would delete it (take it out of that stack first)`);
    }
  }
  const children = await dependentsOf(storage, child, folders, paths);
  for (const dependent of children.filter((path) => !wanted.includes(path))) {
    refusals.push(
      `${named(dependent)} uses the child as its parent, which is deleted after the merge (pass --relink ${named(dependent)} ` +
        `to point it at ${named(destination.path)}, which then reads as the child did)`,
    );
  }
  if (refusals.length > 0) {
    throw new VhdError("ERROR_SHARING_VIOLATION", `other disks depend on this merge: ${refusals.join("; ")}. Merge or delete them first`, {
      parameter: "imagePath",
      path: imagePath,
      details: { refusals },
    });
  }
  const stray = wanted.find((path) => !children.includes(path));
  if (stray !== undefined) {
    throw new VhdError("E_INVALIDARG", `it does not use ${named(child.path)} as its parent, so there is nothing to relink`, {
      parameter: "relink",
      path: stray,
    });
  }
}
