/**
 * `protectParent`: a differencing disk is only valid while its parent's bytes stay exactly as they were, so the
 * parent is made read-only while children exist (VirtualBox's "immutable" media are the closest native analogue).
 *
 * Every child that asks for protection is a holder, listed in a holds record beside the parent
 * (`.golden.vhd.pulumi-vhd-holds`: the mode before, and each holder's unique id and path), wherever the child lives.
 * The mode is put back when the last holder lets go, and only if nobody changed it since (a user's own chmod wins);
 * a parent made writable while held gets read-only again from the next holder, which was made on it as it is now.
 * A holder whose disk is no longer at its path (deleted or replaced outside Pulumi) holds nothing; a holder with a
 * secret path is listed without it (the record is plain text) and holds until its own resource lets go.
 *
 * Every change of the record (read, change, replace) runs under the record's lock file (storage/record-lock.ts), so two
 * processes adding or removing holders at once (two stacks, or the CLI and a stack) never lose one another's change.
 */
import { basename, dirname, join } from "node:path";
import { VhdError } from "../errors";
import { localStorage } from "../storage/local/local-storage";
import type { Storage } from "../storage/port";
import { readJsonRecord, replaceJsonRecord } from "../storage/json-record";
import { withRecordLock } from "../storage/record-lock";
import { identifyDisk } from "../vhd/disk-identity";

const WRITE_BITS = 0o222;
const PERMISSION_BITS = 0o7777;

/** A child holding its parent read-only. */
export interface ParentHolder {
  /** The child's unique id. */
  uniqueId: string;
  /** The child's absolute path, to tell a holder whose disk is gone; `null` for a path that must stay secret. */
  imagePath: string | null;
}

/** What the holds record beside a protected parent says. */
interface ParentHolds {
  /** The parent's mode before it was made read-only. */
  modeBefore: number;
  holders: ParentHolder[];
}

/** The holds record's path: hidden, beside the parent. */
export function holdsRecordPath(parentPath: string): string {
  return join(dirname(parentPath), `.${basename(parentPath)}.pulumi-vhd-holds`);
}

/**
 * Adds `holder` to the parent's holders, making the parent read-only (every write bit removed) when it is the first,
 * or when the parent was made writable while held.
 * Returns the mode to put back when the last holder goes, or `null` when the parent was read-only already without
 * holders (then nobody here has anything to undo).
 */
export function protectParent(parentPath: string, holder: ParentHolder, storage: Storage = localStorage): Promise<number | null> {
  return underLock(storage, parentPath, () => addHolder(storage, parentPath, holder));
}

async function addHolder(storage: Storage, parentPath: string, holder: ParentHolder): Promise<number | null> {
  const holds = await readHolds(storage, parentPath);
  const mode = await permissionBits(storage, parentPath);
  if (holds !== null) {
    const others = holds.holders.filter((held) => held.uniqueId !== holder.uniqueId);
    // Made writable while held (to edit a golden image, whose disks are then made anew): the new holder asks for
    // read-only again, and the mode to put back is the one given meanwhile.
    const given = mode !== null && (mode & WRITE_BITS) !== 0 ? mode : null;
    await writeHolds(storage, parentPath, { modeBefore: given ?? holds.modeBefore, holders: [...others, holder] });
    if (given !== null) await storage.chmod(parentPath, given & ~WRITE_BITS, "parentPath");
    return given ?? holds.modeBefore;
  }
  if (mode === null) {
    throw new VhdError("ERROR_PATH_NOT_FOUND", "the parent to protect does not exist", { parameter: "parentPath", path: parentPath });
  }
  if ((mode & WRITE_BITS) === 0) return null;
  await writeHolds(storage, parentPath, { modeBefore: mode, holders: [holder] });
  await storage.chmod(parentPath, mode & ~WRITE_BITS, "parentPath");
  return mode;
}

/**
 * Takes `holder` off the parent's holders (and the holders whose disks are gone, up to the first one still there);
 * when none is left, puts the mode back (see {@link unprotectParent}) and removes the record. A holder is matched by
 * unique id and, where both paths are known, by path: a disk moved by hand and adopted at its new path has the same
 * unique id, and the delete of the old resource must not take the new path's hold.
 *
 * @returns `"held"` while other holders remain, `"released"` once the last one went, `"unrecorded"` when the parent
 *   has no holds record (state from before holds records: the caller decides by itself).
 */
export function releaseHold(
  parentPath: string,
  holder: ParentHolder,
  storage: Storage = localStorage,
): Promise<"held" | "released" | "unrecorded"> {
  return underLock(storage, parentPath, () => removeHolder(storage, parentPath, holder));
}

async function removeHolder(storage: Storage, parentPath: string, holder: ParentHolder): Promise<"held" | "released" | "unrecorded"> {
  const holds = await readHolds(storage, parentPath);
  if (holds === null) return "unrecorded";
  // One holder still there keeps the parent protected, so the others' disks are looked at only up to the first one
  // found: under the lock, every sibling's release waits for this, and a look at all of them made deleting n
  // siblings open n² disks one after another. Holders gone further down the list go when they come first.
  const others = holds.holders.filter((held) => !sameHolder(held, holder));
  const gone = new Set<ParentHolder>();
  for (const held of others) {
    if (await stillThere(storage, held)) break;
    gone.add(held);
  }
  const holders = others.filter((held) => !gone.has(held));
  if (holders.length > 0) {
    await writeHolds(storage, parentPath, { ...holds, holders });
    return "held";
  }
  await unprotectParent(parentPath, holds.modeBefore, storage);
  await storage.unlink(holdsRecordPath(parentPath)).catch(() => undefined);
  return "released";
}

/**
 * Puts back `modeBefore` if the parent still has exactly the read-only mode {@link protectParent} left. Returns true
 * when it did.
 */
export async function unprotectParent(
  parentPath: string,
  modeBefore: number,
  storage: Storage = localStorage,
): Promise<boolean> {
  const mode = await permissionBits(storage, parentPath);
  // A parent that is gone has nothing to undo.
  if (mode === null || mode !== (modeBefore & ~WRITE_BITS)) return false;
  await storage.chmod(parentPath, modeBefore, "parentPath");
  return true;
}

/** Same unique id, and the same path unless either is secret (not recorded). */
function sameHolder(held: ParentHolder, holder: ParentHolder): boolean {
  if (held.uniqueId !== holder.uniqueId) return false;
  return held.imagePath === null || holder.imagePath === null || held.imagePath === holder.imagePath;
}

/** True unless the holder's path is known and no longer holds its disk. */
async function stillThere(storage: Storage, holder: ParentHolder): Promise<boolean> {
  if (holder.imagePath === null) return true;
  const found = await identifyDisk(holder.imagePath, "imagePath", storage).catch(() => null);
  // An unreadable path is kept: only a disk known to be gone lets go.
  return found === null || (found.kind === "vhd" && found.fileId === holder.uniqueId);
}

/** Runs a change of the parent's holds record under its lock on `storage` (see the module comment). */
function underLock<T>(storage: Storage, parentPath: string, change: () => Promise<T>): Promise<T> {
  return withRecordLock(storage, holdsRecordPath(parentPath), change, { parameter: "parentPath" });
}

async function readHolds(storage: Storage, parentPath: string): Promise<ParentHolds | null> {
  const parsed = await readJsonRecord(storage, holdsRecordPath(parentPath), "parentPath");
  const { modeBefore, holders } = (parsed ?? {}) as Partial<ParentHolds>;
  return typeof modeBefore === "number" && Array.isArray(holders) ? { modeBefore, holders } : null;
}

/** Replaces the record whole, so a crash leaves the old list or the new one. */
async function writeHolds(storage: Storage, parentPath: string, holds: ParentHolds): Promise<void> {
  await replaceJsonRecord(storage, holdsRecordPath(parentPath), holds, { parameter: "parentPath" });
}

/** The file's permission bits (links followed), or `null` when nothing is there. */
async function permissionBits(storage: Storage, file: string): Promise<number | null> {
  const facts = await storage.pathFacts(file, { followLinks: true });
  return facts.kind === "missing" ? null : facts.mode & PERMISSION_BITS;
}
