/**
 * `Set-VHD -ParentPath` as a use case: point a differencing disk at its parent's new path (the parent moved, same
 * bytes) without touching the child's data. The new parent must be the one the child was made from (same unique id,
 * same size, and the same SHA-256 when the caller knows it) unless the caller says to ignore an id mismatch, as
 * `Set-VHD -IgnoreIdMismatch` does, knowing that a parent with other content makes the child read garbage.
 */
import { resolve } from "node:path";
import { VhdError, asVhdError } from "../errors";
import { sha256File } from "../sha256/sha256";
import { throwIfCancelled } from "../support/cancellation";
import { sameFile } from "../storage/facts";
import { localStorage } from "../storage/local/local-storage";
import type { Storage } from "../storage/port";
import { resolveDiskPaths, type PathRules } from "../inputs/paths";
import { checkParent } from "../inputs/validate";
import { driverForFile, readParentFactsAt } from "../disk/formats";
import { inspectDisk, type DiskInfo } from "../disk/inspect";

/** Arguments of {@link setParent}. */
export interface SetParentArgs {
  /** The differencing disk to relink (an existing file: a relative path is relative to the current directory). */
  imagePath: string;
  /** The parent's new path; a relative one is relative to the child's folder (as W2ru, and the contract's rule). */
  parentPath: string;
  /**
   * Relink to a parent whose unique id (or SHA-256) differs from the one the child records, and record the new id
   * (Set-VHD's `-IgnoreIdMismatch`). The child then reads the new parent's bytes wherever it holds none of its own:
   * unless the two parents hold the same data, what the child shows is corrupt.
   */
  ignoreIdMismatch?: boolean;
  /** The SHA-256 (hex) the parent's file must have, e.g. the one recorded when the child was made. */
  expectedSha256?: string;
  /** Path rules (default `"windows"`). */
  pathRules?: PathRules;
  signal?: AbortSignal;
  /** Where the disks are (default: this machine). */
  storage?: Storage;
}

/** What {@link setParent} did. */
export interface SetParentResult {
  /** The child, as it reads now. */
  disk: DiskInfo;
  /** What the child recorded before: the parent's unique id, name and locator paths. */
  previous: NonNullable<DiskInfo["parent"]>;
  /** True when the new parent's id differs from the one recorded before and the mismatch was ignored. */
  idMismatchIgnored: boolean;
}

function mismatch(reason: string, parentPath: string, details: Record<string, unknown>): VhdError {
  return new VhdError(
    "ERROR_VHD_CHILD_PARENT_ID_MISMATCH",
    `${reason}; it is not the parent this disk was made from. Give the right parent, or force the link with ` +
      "--ignore-id-mismatch (ignoreIdMismatch) if you know both hold the same data: otherwise the child's data is lost",
    { parameter: "parentPath", path: parentPath, details },
  );
}

/**
 * Relinks the differencing disk at `imagePath` (VHD or VHDX) to the parent at `parentPath`, crash-safely, through its
 * format's driver (`relinkParent`: vhd/writer/relink.ts, vhdx/relink.ts): only what says where and who the parent is
 * gets rewritten, the child's data is not touched, the parent is only read. The unique id compared is the one a
 * child links to: a VHD's footer unique id, a VHDX's DataWriteGuid (`parent_linkage`).
 *
 * @throws the path rules' errors; `checkParent`'s errors for the new parent (parameter `parentPath`);
 *   `ERROR_VHD_INVALID_TYPE` (not a differencing disk; a parent of the other format, parameter `parentPath`);
 *   `ERROR_VHD_CHILD_PARENT_ID_MISMATCH` (another unique id or
 *   SHA-256, without `ignoreIdMismatch`); `ERROR_VHD_CHILD_PARENT_SIZE_MISMATCH` (always: sizes must match);
 *   `ERROR_VHD_DIFFERENCING_CHAIN_CYCLE_DETECTED` (the new parent is the child or descends from it);
 *   `VM_E_APP_SHUTTING_DOWN`; the relink's errors.
 */
export async function setParent(args: SetParentArgs): Promise<SetParentResult> {
  const { imagePath, parentPath } = resolveDiskPaths(
    { imagePath: args.imagePath === "" ? "" : resolve(args.imagePath), parentPath: args.parentPath },
    { pathRules: args.pathRules },
  );
  const context = { parameter: "imagePath" as const, path: imagePath };
  const storage = args.storage ?? localStorage;
  const before = await inspectDisk(imagePath, { storage });
  const previous = before.parent;
  if (previous === undefined) {
    throw new VhdError("ERROR_VHD_INVALID_TYPE", `a ${before.type} disk has no parent to set; give a differencing disk`, context);
  }
  const parent = await checkParent(parentPath, storage);
  if (parent.format !== before.format) {
    throw new VhdError(
      "ERROR_VHD_INVALID_TYPE",
      `it is a ${parent.format.toUpperCase()} disk and ${imagePath} a ${before.format.toUpperCase()} one: a chain never mixes formats ` +
        "(Hyper-V refuses it); give a parent of the child's format, or convert the chain with `vhd convert`",
      { parameter: "parentPath", path: parentPath, details: { childFormat: before.format, parentFormat: parent.format } },
    );
  }
  const childFile = await storage.fingerprint(imagePath, "imagePath");
  const inParentChain = [parentPath, ...parent.chain.map((entry) => entry.path)];
  for (const path of inParentChain) {
    if (path === imagePath || sameFile(await storage.fingerprint(path, "parentPath"), childFile)) {
      throw new VhdError(
        "ERROR_VHD_DIFFERENCING_CHAIN_CYCLE_DETECTED",
        `${parentPath} is this disk or one of its descendants (${path}): the chain would loop`,
        { parameter: "parentPath", path: parentPath },
      );
    }
  }
  if (parent.virtualSize !== before.virtualSize) {
    throw new VhdError(
      "ERROR_VHD_CHILD_PARENT_SIZE_MISMATCH",
      `the child is ${before.virtualSize} bytes but ${parentPath} is ${parent.virtualSize}; a parent must have the child's size`,
      { parameter: "parentPath", path: parentPath, details: { childSize: before.virtualSize, parentSize: parent.virtualSize } },
    );
  }
  const ignore = args.ignoreIdMismatch === true;
  const idMismatch = parent.uniqueId !== previous.uniqueId;
  if (idMismatch && !ignore) {
    throw mismatch(`it has the unique id ${parent.uniqueId}; ${imagePath} records ${previous.uniqueId}`, parentPath, {
      recorded: previous.uniqueId,
      found: parent.uniqueId,
      imagePath,
    });
  }
  if (args.expectedSha256 !== undefined && !ignore) {
    const { sha256 } = await sha256File(parentPath, { signal: args.signal, storage });
    if (sha256 !== args.expectedSha256) {
      throw mismatch(`its SHA-256 is ${sha256}, not ${args.expectedSha256}`, parentPath, {
        expectedSha256: args.expectedSha256,
        sha256,
        imagePath,
      });
    }
  }
  throwIfCancelled(args.signal, context);
  const facts = await readParentFactsAt(parentPath, { storage });
  if (facts.uniqueId !== parent.uniqueId) {
    throw mismatch("it changed while it was being checked", parentPath, { imagePath });
  }
  const file = await storage.open(imagePath, { writable: true, parameter: "imagePath" });
  try {
    const driver = await driverForFile(file);
    await driver.relinkParent(file, facts, { imagePath, parentPath, expectedUniqueId: before.uniqueId });
  } catch (error) {
    throw asVhdError(error, context);
  } finally {
    await file.close();
  }
  return { disk: await inspectDisk(imagePath, { storage }), previous, idMismatchIgnored: idMismatch };
}
