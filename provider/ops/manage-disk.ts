/**
 * Managing a differencing disk someone declared: whether an existing disk may be taken over, what is recorded about a
 * disk and its parent when it is made (or found), and letting go of the parent when the disk goes. Neutral records,
 * no Pulumi types: the resource (resource/provider.ts) stores them as its state, the CLI (`vhd inspect --parent-facts`)
 * prints the same facts.
 *
 * Protection changes of disks sharing a parent run one at a time in this process ({@link withParentLock}): the engine
 * deletes sibling disks concurrently, and each, once its own file is gone, must see the others gone or present before
 * deciding whether the parent becomes writable again. The deletes themselves run side by side.
 */
import * as path from "node:path";
import { VhdError } from "../errors";
import { isUnanswered, type FileFingerprint } from "../storage/facts";
import type { Storage } from "../storage/port";
import { pathsEqual } from "../inputs/paths";
import { childDisksInFolder } from "../disk/child-disks";
import type { DiskKind } from "../disk/image";
import { type DiskInfo, inspectDisk } from "../disk/inspect";
import { type ChildFacts, childFacts } from "./disk-facts";
import { KeyedLock } from "./keyed-lock";
import { type Ancestors, observeParent, parentIdentity } from "./observe-parent";
import { type ParentHolder, protectParent, releaseHold, unprotectParent } from "./protect-parent";

/** What a disk records about its parent, observed on the files the disk was made on (or found linked to). */
export interface ParentRecord {
  /** Absolute path of the parent the disk is linked to. */
  parentPath: string;
  /** The parent's file size in bytes. */
  parentSize: number;
  /** The parent's disk type. */
  parentDiskType: DiskKind;
  /** The parent's file fingerprint (after protecting it, when the disk did). */
  parentFingerprint: FileFingerprint;
  /** The parent's checksum (plain SHA-256 of a base disk, unlinked of a differencing one); `null` when not asked for. */
  parentChecksum: string | null;
  /** The disks above the parent, by absolute path, nearest first; `null` when the chain is broken above the parent. */
  ancestors: Ancestors | null;
}

/** A disk as recorded: its own facts, where it is, and its parent. */
export interface DiskRecord extends Omit<ChildFacts, "resolvedParentPath">, ParentRecord {
  /** Absolute path of the disk. */
  imagePath: string;
  /** The unique id of the file at `imagePath` (the disk's own, just read). */
  foundUniqueId: string;
}

/** What {@link adoptableDisk} compares an existing disk with. */
export interface AdoptRequest {
  /** Absolute path of the existing disk. */
  imagePath: string;
  /** Absolute path of the parent it must be linked to. */
  parentPath: string;
  /** The block size it must have; absent: any. */
  blockSize?: number;
  /** Where both disks are. */
  storage: Storage;
}

const parentLock = new KeyedLock();

/** Runs `task` while no other protection change of a disk off `parentPath` runs in this process. */
export function withParentLock<T>(parentPath: string, task: () => Promise<T>): Promise<T> {
  return parentLock.run(parentPath, task);
}

/**
 * The existing disk at `imagePath`, if it may be adopted: a differencing disk linked to exactly this parent (the file
 * at `parentPath`, with the unique id the disk records) and of the block size asked for. A symbolic link at
 * `imagePath` is refused: the ownership record sits beside the path (ownership.ts), so a link would give the disk it
 * names a second owner, whose delete would then remove the first owner's disk.
 * @throws VhdError `ERROR_ALREADY_EXISTS` naming the mismatch or the link; `ERROR_VHD_INVALID_TYPE` for a disk not
 * differencing.
 */
export async function adoptableDisk(request: AdoptRequest): Promise<DiskInfo> {
  const { imagePath, parentPath, storage } = request;
  if ((await storage.pathFacts(imagePath, { followLinks: false })).kind === "symlink") {
    throw new VhdError(
      "ERROR_ALREADY_EXISTS",
      "the file is a symbolic link and cannot be adopted: a disk has one owner, found by its own path; adopt it by the " +
        "path of the file the link points to",
      { parameter: "imagePath", path: imagePath, details: { parentPath } },
    );
  }
  const existing = await inspectDisk(imagePath, { parameter: "imagePath", storage });
  const facts = childFacts(existing);
  const refuse = (why: string): VhdError =>
    new VhdError("ERROR_ALREADY_EXISTS", `the file exists and cannot be adopted: ${why}`, {
      parameter: "imagePath",
      path: imagePath,
      details: { parentPath, linkedParent: facts.resolvedParentPath },
    });
  if (facts.resolvedParentPath === null || !pathsEqual(facts.resolvedParentPath, parentPath)) {
    throw refuse(`its parent is ${facts.resolvedParentPath ?? "not found"}, not ${parentPath}`);
  }
  const parent = await parentIdentity(parentPath, await storage.fingerprint(parentPath), storage);
  if (parent.uniqueId !== facts.parentUniqueId) {
    throw refuse(`it was made from a parent with unique id ${facts.parentUniqueId}; ${parentPath} has ${parent.uniqueId}`);
  }
  if (request.blockSize !== undefined && request.blockSize !== facts.blockSize) {
    throw refuse(`its block size is ${facts.blockSize} bytes, not the ${request.blockSize} asked for`);
  }
  return existing;
}

/** What {@link recordNewDisk} needs besides the disk's facts. */
export interface RecordRequest {
  /** Absolute path of the disk. */
  imagePath: string;
  /** Absolute path of the parent it was made on. */
  parentPath: string;
  /** Compute (or recall) the parent's checksum. */
  checksum: boolean;
  /** Make the parent read-only for this holder; `null`: leave its mode alone. */
  protectFor: ParentHolder | null;
  /** Where both disks are. */
  storage: Storage;
}

/**
 * The record of a disk just created or adopted, and the parent's protection taken. The parent and its ancestors are
 * observed here, on the files the disk was made on, never taken from a plan (a plan can be older than the disk).
 * @returns the record and the parent's mode before protecting (`null`: not changed).
 * @throws VhdError `ERROR_PATH_NOT_FOUND` when the parent is gone; `ERROR_VHD_CHILD_PARENT_ID_MISMATCH` when the file
 *   there is no longer the disk's parent.
 */
export async function recordNewDisk(
  request: RecordRequest,
  facts: ChildFacts,
): Promise<{ record: DiskRecord; parentModeBeforeProtect: number | null }> {
  const { parentPath, storage } = request;
  const observation = await observeParent(parentPath, { checksum: request.checksum, storage });
  const before = observation.parentFingerprint;
  if (before === null) {
    throw new VhdError("ERROR_PATH_NOT_FOUND", "the parent was removed while the disk was being made; restore it", {
      parameter: "parentPath",
      path: parentPath,
    });
  }
  const identity = await parentIdentity(parentPath, before, storage);
  if (identity.uniqueId !== facts.parentUniqueId) {
    throw new VhdError(
      "ERROR_VHD_CHILD_PARENT_ID_MISMATCH",
      `the parent was replaced while the disk was being made (unique id ${identity.uniqueId}, the disk records ` +
        `${facts.parentUniqueId}); run the deployment again`,
      { parameter: "parentPath", path: parentPath },
    );
  }
  const holder = request.protectFor;
  const parentModeBeforeProtect = holder === null ? null : await withParentLock(parentPath, () => protectParent(parentPath, holder, storage));
  const { resolvedParentPath: _resolved, ...link } = facts;
  const record: DiskRecord = {
    ...link,
    imagePath: request.imagePath,
    parentPath,
    foundUniqueId: facts.uniqueId,
    parentSize: before.size,
    parentDiskType: identity.diskType,
    // After protecting: chmod changes the parent's ctime, and the next observation must not read that as a change.
    parentFingerprint: parentModeBeforeProtect === null ? before : await storage.fingerprint(parentPath),
    parentChecksum: observation.parentChecksum,
    ancestors: observation.ancestors ?? {},
  };
  return { record, parentModeBeforeProtect };
}

/**
 * The record of a disk found with nothing recorded about it (`get`, an interrupted create, `vhd inspect
 * --parent-facts`): the parent as it is now stands for "when made"; checksums are computed (or recalled).
 * @throws VhdError `ERROR_VHD_INVALID_TYPE` for a disk not differencing; `ERROR_VHD_PARENT_VHD_NOT_FOUND` when its
 *   parent cannot be found.
 */
export async function recordFoundDisk(info: DiskInfo, storage: Storage): Promise<DiskRecord> {
  const { resolvedParentPath, ...link } = childFacts(info);
  if (resolvedParentPath === null) {
    throw new VhdError("ERROR_VHD_PARENT_VHD_NOT_FOUND", "the disk's parent cannot be found, so it cannot be described", {
      parameter: "imagePath",
      path: info.path,
    });
  }
  const observation = await observeParent(resolvedParentPath, { checksum: true, storage });
  const fingerprint = observation.parentFingerprint ?? (await storage.fingerprint(resolvedParentPath));
  const identity = await parentIdentity(resolvedParentPath, fingerprint, storage);
  return {
    ...link,
    imagePath: info.path,
    parentPath: resolvedParentPath,
    foundUniqueId: link.uniqueId,
    parentSize: fingerprint.size,
    parentDiskType: identity.diskType,
    parentFingerprint: fingerprint,
    parentChecksum: observation.parentChecksum,
    ancestors: observation.ancestors,
  };
}

/** A disk that may hold its parent read-only: what {@link releaseParent} needs. */
export interface ParentHold {
  /** Absolute path of the disk. */
  imagePath: string;
  /** The disk's unique id. */
  uniqueId: string;
  /** Absolute path of its parent. */
  parentPath: string;
  /** The parent's unique id. */
  parentUniqueId: string;
  /** The parent's mode before this disk protected it; `null`: this disk did not. */
  parentModeBeforeProtect: number | null;
}

/**
 * Lets go of the parent: it becomes writable again once no disk that asked for protection holds it, wherever those
 * disks are (the holds record beside the parent lists them; see protect-parent.ts). For a hold from before holds
 * records, the "last child" rule: the parent is given back its mode only when no other child of it is found in the
 * disk's folder or the parent's (`gone`: disks being deleted, not counted), nor a file there that cannot be read to
 * tell (then the parent stays read-only, and the release succeeds).
 * @throws the storage's error when the host gave no answer (`isUnanswered`).
 */
export async function releaseParent(disk: ParentHold, gone: string[], storage: Storage): Promise<void> {
  if (disk.parentModeBeforeProtect === null) return;
  if ((await releaseHold(disk.parentPath, { uniqueId: disk.uniqueId, imagePath: disk.imagePath }, storage)) !== "unrecorded") return;
  const folders = [...new Set([path.dirname(disk.imagePath), path.dirname(disk.parentPath)])];
  for (const folder of folders) {
    // A file there that cannot be read may be a child: the parent stays read-only, as for a child found. Failing
    // instead would come after a delete removed the disk, leaving it in the state, and every retry, until the file
    // is readable, over a parent protected either way. No answer from the host still fails: nothing can be done there.
    const others = await childDisksInFolder(folder, disk.parentUniqueId, [...gone, disk.imagePath], storage).catch((error: unknown) => {
      if (isUnanswered(error)) throw error;
      return null;
    });
    if (others === null || others.length > 0) return;
  }
  await unprotectParent(disk.parentPath, disk.parentModeBeforeProtect, storage);
}

/** A disk as a holder of its parent; its path stays out of the plain-text holds record when it is secret. */
export function holderOf(disk: { uniqueId: string; imagePath: string; secretPaths: boolean }): ParentHolder {
  return { uniqueId: disk.uniqueId, imagePath: disk.secretPaths ? null : disk.imagePath };
}
