/**
 * One disk, one owner. A resource that creates or adopts a disk writes an ownership record beside it, naming itself
 * (its URN) and the disk (its unique id); another resource that wants the same disk finds the record and is refused,
 * and a resource whose own earlier run was cut short (SIGKILL of `pulumi up`) finds its own name and takes its disk
 * back. The record lives beside the disk, not in the Pulumi state, because two owners are usually two stacks (or two
 * states), and not in the disk, because an adopted disk is not ours to modify.
 *
 * Crash honesty: the record is published whole (storage/atomic-create.ts: temporary file, fsync, no-clobber link), and it only counts while the
 * disk beside it still has the unique id it names: a record left by a crash, or by a disk deleted or replaced outside
 * Pulumi, names a disk that is not there and claims nothing.
 */
import { basename, dirname, join } from "node:path";
import { asVhdError, isVhdError } from "../errors";
import { createFileAtomically } from "../storage/atomic-create";
import { isNotFound } from "../storage/facts";
import { localStorage } from "../storage/local/local-storage";
import type { Storage } from "../storage/port";
import { readJsonRecord, replaceJsonRecord } from "../storage/json-record";

/** What an ownership record holds. */
export interface OwnershipRecord {
  /** The owning resource's URN. */
  owner: string;
  /** The unique id (GUID string) of the disk it owns. */
  uniqueId: string;
}

/** The record's path: hidden, beside the disk, saying what it is (`/vms/.web.vhd.pulumi-vhd-owner`). */
export function ownershipRecordPath(imagePath: string): string {
  return join(dirname(imagePath), `.${basename(imagePath)}.pulumi-vhd-owner`);
}

/**
 * Says who holds the disk at `imagePath` and where that is written, for a refusal's reason: `managed by another
 * resource, <owner> (ownership record <record>)`, the record named as `storage` names a path (with its host,
 * `ssh://user@host:port/abs/path`, on a remote one), so a person can find the file to look at or remove.
 */
export function managedElsewhere(imagePath: string, owner: string, storage: Storage): string {
  return `managed by another resource, ${owner} (ownership record ${storage.describe(ownershipRecordPath(imagePath))})`;
}

/**
 * The owner of the disk with `uniqueId` at `imagePath`: the URN its record names, or `null` when no record names
 * that disk (none, unreadable, or left over from another disk).
 */
export async function ownerOf(imagePath: string, uniqueId: string, storage: Storage = localStorage): Promise<string | null> {
  const record = await readRecord(imagePath, storage);
  return record !== null && record.uniqueId === uniqueId ? record.owner : null;
}

/**
 * Claims the disk with `record.uniqueId` at `imagePath` for `record.owner`: writes the record unless one already names
 * that disk. The record is created atomically and never over an existing one (storage/atomic-create.ts), so of two resources
 * claiming the same disk at the same moment exactly one wins. A record left over from another disk is replaced.
 *
 * @returns `null` when the disk is now (or already was) `record.owner`'s, else the owner that holds it.
 * @throws VhdError the table's file-system errors.
 */
export async function claimDisk(
  imagePath: string,
  record: OwnershipRecord,
  storage: Storage = localStorage,
): Promise<string | null> {
  const target = ownershipRecordPath(imagePath);
  // Twice at most: the second time after taking away a record that named another disk.
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const bytes = new TextEncoder().encode(`${JSON.stringify(record)}\n`);
      await createFileAtomically(target, (file) => file.write(0, bytes), { storage, parameter: "imagePath" });
      return null;
    } catch (error) {
      if (!isVhdError(error) || error.code !== "ERROR_ALREADY_EXISTS") throw error;
    }
    const existing = await readRecord(imagePath, storage);
    if (existing !== null && existing.uniqueId === record.uniqueId) {
      return existing.owner === record.owner ? null : existing.owner;
    }
    await storage.unlink(target).catch(() => undefined);
  }
  throw asVhdError(new Error("could not write the disk's ownership record: it keeps being replaced by another process"), {
    parameter: "imagePath",
    path: target,
  });
}

/**
 * Rewrites the record of the disk with `uniqueId` from owner `from` to `to`: the same resource under a new URN (a
 * `pulumi stack rename`, a resource renamed with an alias). Without it the record would keep naming the old URN, and
 * the resource's own delete would refuse its disk as another resource's. A record naming another owner or another
 * disk is left as it is. Replaced whole (temporary file, fsync, rename), so a crash leaves the old record or the new.
 * @throws VhdError the table's file-system errors.
 */
export async function transferOwner(
  imagePath: string,
  uniqueId: string,
  from: string,
  to: string,
  storage: Storage = localStorage,
): Promise<void> {
  const record = await readRecord(imagePath, storage);
  if (record === null || record.uniqueId !== uniqueId || record.owner !== from || from === to) return;
  await replaceJsonRecord(storage, ownershipRecordPath(imagePath), { owner: to, uniqueId }, { parameter: "imagePath" });
}

/**
 * The stack `owner` (a URN) names when it is the resource `claimant` names in another stack of the same project
 * (`urn:pulumi:<stack>::<project>::<type>::<name>`, all but the stack equal), else `null`. Such a record is not taken
 * as the claimant's: it is what another stack of the project holding the same path writes (dev and prod of one
 * program), which one disk, one owner must refuse, and it is also what a `pulumi stack rename` leaves until the next
 * update moves the record along; nothing the provider is given tells the two apart, so the refusal names both.
 */
export function sameResourceInStack(owner: string, claimant: string): string | null {
  const [ownerStack, ...ownerRest] = owner.split("::");
  const [claimantStack, ...claimantRest] = claimant.split("::");
  const prefix = "urn:pulumi:";
  if (ownerStack === undefined || claimantStack === undefined || !ownerStack.startsWith(prefix) || !claimantStack.startsWith(prefix)) return null;
  if (ownerStack === claimantStack || ownerRest.length < 3 || ownerRest.join("::") !== claimantRest.join("::")) return null;
  return ownerStack.slice(prefix.length);
}

/** Removes the record if it is the one for the disk with `uniqueId` (a record naming another disk is not ours). */
export async function forgetOwner(imagePath: string, uniqueId: string, storage: Storage = localStorage): Promise<void> {
  const record = await readRecord(imagePath, storage);
  if (record === null || record.uniqueId !== uniqueId) return;
  await storage.unlink(ownershipRecordPath(imagePath), "imagePath").catch((error: unknown) => {
    if (!isNotFound(error)) throw error;
  });
}

/** The record, or `null` when there is none or it is not one (a garbled record claims nothing). */
async function readRecord(imagePath: string, storage: Storage): Promise<OwnershipRecord | null> {
  const parsed = await readJsonRecord(storage, ownershipRecordPath(imagePath), "imagePath");
  const { owner, uniqueId } = (parsed ?? {}) as Partial<Record<keyof OwnershipRecord, unknown>>;
  return typeof owner === "string" && typeof uniqueId === "string" ? { owner, uniqueId } : null;
}
