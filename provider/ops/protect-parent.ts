/**
 * `protectParent`: a differencing disk is only valid while its parent's bytes stay exactly as they were, so the
 * parent is made read-only while children exist (VirtualBox's "immutable" media are the closest native analogue).
 *
 * Every child that asks for protection is a holder, listed in a holds record beside the parent
 * (`.golden.vhd.pulumi-vhd-holds`: the mode before, and each holder's unique id and path), wherever the child lives.
 * The mode is put back when the last holder lets go, and only if nobody changed it since (a user's own chmod wins).
 * A holder whose disk is no longer at its path (deleted or replaced outside Pulumi) holds nothing; a holder with a
 * secret path is listed without it (the record is plain text) and holds until its own resource lets go.
 */
import { chmod, stat, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { VhdError } from "../errors";
import { errnoCode, vhdErrorFromFs } from "../storage/local/fs-error";
import { readJsonRecord, replaceJsonRecord } from "../storage/json-record";
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
 * Adds `holder` to the parent's holders, making the parent read-only (every write bit removed) when it is the first.
 * Returns the mode to put back when the last holder goes, or `null` when the parent was read-only already without
 * holders (then nobody here has anything to undo).
 */
export async function protectParent(parentPath: string, holder: ParentHolder): Promise<number | null> {
  const holds = await readHolds(parentPath);
  if (holds !== null) {
    const others = holds.holders.filter((held) => held.uniqueId !== holder.uniqueId);
    await writeHolds(parentPath, { ...holds, holders: [...others, holder] });
    return holds.modeBefore;
  }
  const mode = await permissionBits(parentPath);
  if (mode === null) {
    throw new VhdError("ERROR_PATH_NOT_FOUND", "the parent to protect does not exist", { parameter: "parentPath", path: parentPath });
  }
  if ((mode & WRITE_BITS) === 0) return null;
  await writeHolds(parentPath, { modeBefore: mode, holders: [holder] });
  await changeMode(parentPath, mode & ~WRITE_BITS, "make the parent read-only");
  return mode;
}

/**
 * Takes the child with `uniqueId` off the parent's holders (and any holder whose disk is gone); when none is left,
 * puts the mode back (see {@link unprotectParent}) and removes the record.
 *
 * @returns `"held"` while other holders remain, `"released"` once the last one went, `"unrecorded"` when the parent
 *   has no holds record (state from before holds records: the caller decides by itself).
 */
export async function releaseParent(parentPath: string, uniqueId: string): Promise<"held" | "released" | "unrecorded"> {
  const holds = await readHolds(parentPath);
  if (holds === null) return "unrecorded";
  const holders: ParentHolder[] = [];
  for (const held of holds.holders) {
    if (held.uniqueId !== uniqueId && (await stillThere(held))) holders.push(held);
  }
  if (holders.length > 0) {
    await writeHolds(parentPath, { ...holds, holders });
    return "held";
  }
  await unprotectParent(parentPath, holds.modeBefore);
  await unlink(holdsRecordPath(parentPath)).catch(() => undefined);
  return "released";
}

/**
 * Puts back `modeBefore` if the parent still has exactly the read-only mode {@link protectParent} left. Returns true
 * when it did.
 */
export async function unprotectParent(parentPath: string, modeBefore: number): Promise<boolean> {
  const mode = await permissionBits(parentPath);
  // A parent that is gone has nothing to undo.
  if (mode === null || mode !== (modeBefore & ~WRITE_BITS)) return false;
  await changeMode(parentPath, modeBefore, "make the parent writable again");
  return true;
}

/** True unless the holder's path is known and no longer holds its disk. */
async function stillThere(holder: ParentHolder): Promise<boolean> {
  if (holder.imagePath === null) return true;
  const found = await identifyDisk(holder.imagePath).catch(() => null);
  // An unreadable path is kept: only a disk known to be gone lets go.
  return found === null || (found.kind === "vhd" && found.uniqueId === holder.uniqueId);
}

async function readHolds(parentPath: string): Promise<ParentHolds | null> {
  const parsed = await readJsonRecord(holdsRecordPath(parentPath), "parentPath");
  const { modeBefore, holders } = (parsed ?? {}) as Partial<ParentHolds>;
  return typeof modeBefore === "number" && Array.isArray(holders) ? { modeBefore, holders } : null;
}

/** Replaces the record whole, so a crash leaves the old list or the new one. */
async function writeHolds(parentPath: string, holds: ParentHolds): Promise<void> {
  await replaceJsonRecord(holdsRecordPath(parentPath), holds, { parameter: "parentPath", action: "write the parent's holds record" });
}

/** The file's permission bits, or `null` when it does not exist. */
async function permissionBits(file: string): Promise<number | null> {
  try {
    return (await stat(file)).mode & PERMISSION_BITS;
  } catch (error) {
    if (errnoCode(error) === "ENOENT") return null;
    throw vhdErrorFromFs(error, { parameter: "parentPath", path: file, action: "read the parent's permissions" });
  }
}

async function changeMode(file: string, mode: number, action: string): Promise<void> {
  try {
    await chmod(file, mode);
  } catch (error) {
    throw vhdErrorFromFs(error, { parameter: "parentPath", path: file, action });
  }
}
