/**
 * The `DifferencingDisk` provider: what the Pulumi engine calls. Loaded by name (`pulumi-vhd/dist/resource/provider`)
 * by the serialized shim (shim.ts), so old state is always served by the installed code.
 *
 * - `check` validates the inputs (the contract's path rules), fills defaults, and observes the parent; the observation
 *   becomes part of the inputs so that `pulumi preview --diff` prints the parent's old and new checksum / id / size.
 * - `diff` applies replace-rules.ts.
 * - `create` validates against every row of the error table and writes atomically (ops), or adopts.
 * - `read` (refresh, `get`) re-reads the disk: gone, replaced or relinked disks surface on the next preview.
 * - `update` relinks a disk whose parent moved (same parent at a new path) and applies setting changes in place.
 * - `remove` (delete) removes exactly one file, and only the disk this resource made.
 */
import * as path from "node:path";
import type * as pulumi from "@pulumi/pulumi";
import { VhdError, asVhdError } from "../errors";
import { fileExists, fingerprintFile } from "../fs/file-fingerprint";
import { pathsEqual, resolveDiskPaths, resolveSinglePath } from "../inputs/paths";
import { createDifferencingDisk } from "../ops/create-differencing";
import { deleteDisk, discardNewDisk } from "../ops/delete-disk";
import { protectParent, unprotectParent } from "../ops/protect-parent";
import { setParent } from "../ops/set-parent";
import { childDisksInFolder } from "../vhd/child-disks";
import { inspectDisk } from "../vhd/inspect";
import { childFacts, type ChildFacts } from "./disk-facts";
import { KeyedLock } from "./keyed-lock";
import { observeParent, parentIdentity } from "./parent-observation";
import { RELINK_NOTE, planDiff, sameParentAtNewPath } from "./replace-rules";
import { type RawInputs, readSettings, recordedSettings } from "./settings";
import { observedFacts } from "./observed-inputs";
import { type DiskInputs, type DiskState, type ObservedFacts, UNKNOWN, isUnknown } from "./state";

/** What {@link read} returns: `pulumi.dynamic.ReadResult` with `inputs` in the inputs' shape. */
export interface DiskReadResult {
  /** The disk's id, or `""` when it is gone. */
  id: string;
  /** The state as read. */
  props?: DiskState;
  /** Replacement inputs, when the refresh found a relinked disk. */
  inputs?: DiskInputs;
}

/** Deletes and protection changes of disks sharing a parent run one at a time (see keyed-lock.ts). */
const parentLock = new KeyedLock();

/** The observation of a parent whose path is not known yet: every fact unknown, shown as such in a preview. */
const UNKNOWN_OBSERVATION = {
  parentUniqueId: UNKNOWN,
  parentSize: UNKNOWN,
  parentChecksum: UNKNOWN,
  ancestors: UNKNOWN,
} as unknown as ObservedFacts;

/**
 * Validates and completes the inputs. Problems come back as check failures, each naming the input and carrying the
 * error's name and HRESULT (`ERROR_INVALID_NAME (0x8007007B): imagePath "...": ...`).
 */
export async function check(
  olds: Partial<DiskInputs>,
  news: RawInputs,
): Promise<pulumi.dynamic.CheckResult<DiskInputs>> {
  const { settings, errors } = readSettings(news);
  if (settings === undefined) return { failures: errors.map(failureOf) };
  const { imagePath, parentPath } = news;
  if (isUnknown(imagePath) || isUnknown(parentPath)) {
    // A relative path is relative to the other one's folder: with that one unknown, where it points is unknown too.
    const known = (value: unknown): unknown => (typeof value === "string" && path.isAbsolute(value) ? path.resolve(value) : UNKNOWN);
    return {
      inputs: { ...settings, imagePath: known(imagePath), parentPath: known(parentPath), ...UNKNOWN_OBSERVATION } as DiskInputs,
    };
  }
  try {
    const paths = resolveDiskPaths({ imagePath: imagePath as string, parentPath: parentPath as string }, settings);
    // A missing parent is no failure here: an earlier step of the same run may make it (a moved or recreated
    // parent). diff plans the replace, saying so, and create refuses with the contract's error if it is still missing.
    const observation = await observeParent(paths.parentPath, { checksum: settings.checksum });
    const inputs: DiskInputs = { ...settings, ...paths, ...observedFacts(observation, news) };
    return { inputs: sameParentAtNewPath(olds, inputs) ? { ...inputs, relink: RELINK_NOTE } : inputs };
  } catch (error) {
    return { failures: [failureOf(asVhdError(error))] };
  }
}

/**
 * Decides replace / update / nothing (replace-rules.ts); looks only at the disk file's existence itself.
 *
 * The dynamic-provider protocol carries no changed keys, and without them the engine prints every input of a
 * replaced disk, changed or not, and cannot apply `replaceOnChanges`. So when every change is a change of the inputs,
 * `changes` is left undefined: the engine then diffs the old and new inputs itself, prints only the changed ones and
 * applies `replaceOnChanges`, keeping the replace list given here. A reason outside the inputs (the disk file
 * deleted or replaced) says `changes: true`, since the inputs alone would show nothing to do.
 */
export async function diff(_id: string, olds: Partial<DiskState>, news: DiskInputs): Promise<pulumi.dynamic.DiffResult> {
  const recorded = recordedState(olds);
  const { changes, changesInInputs, replaces, deleteBeforeReplace } = planDiff(recorded, news, {
    imageExists: await fileExists(recorded.imagePath, "imagePath"),
  });
  return { changes: changesInInputs ? undefined : changes, replaces, deleteBeforeReplace };
}

/** Creates the disk (or adopts an existing one when `adopt` is on) and records it. Leaves nothing behind on failure. */
export async function create(inputs: DiskInputs): Promise<pulumi.dynamic.CreateResult<DiskState>> {
  const { imagePath, parentPath } = inputs;
  const adopting = inputs.adopt && (await fileExists(imagePath, "imagePath"));
  const child = adopting
    ? await adoptable(inputs)
    : await createDifferencingDisk({ imagePath, parentPath, blockSize: inputs.blockSize, pathRules: inputs.pathRules });
  try {
    return { id: imagePath, outs: await recordDisk(inputs, childFacts(child), adopting) };
  } catch (error) {
    // The disk was written by this call: take it back.
    if (!adopting) await discardNewDisk(imagePath);
    throw error;
  }
}

/**
 * Re-reads the disk at `id`. A disk deleted outside Pulumi returns an empty id (the engine drops it from the state).
 * A file with another unique id keeps the recorded disk and sets `foundUniqueId`; a relinked disk records its new
 * parent link; either makes the next preview plan a replace. With nothing recorded (`get`), the disk is described as
 * it is now.
 */
export async function read(id: string, props: Partial<DiskState>): Promise<DiskReadResult> {
  const imagePath = resolveSinglePath(id, "imagePath", { pathRules: "posix" });
  if (!(await fileExists(imagePath, "imagePath"))) return { id: "" };
  const facts = childFacts(await inspectDisk(imagePath));
  if (typeof props.uniqueId !== "string") return { id: imagePath, props: await describeUnmanaged(imagePath, facts) };
  const recorded = recordedState(props);
  if (facts.uniqueId !== recorded.uniqueId) return { id: imagePath, props: { ...recorded, foundUniqueId: facts.uniqueId } };
  const { resolvedParentPath, ...link } = facts;
  const state: DiskState = { ...recorded, ...link, foundUniqueId: facts.uniqueId };
  if (resolvedParentPath !== null) state.parentPath = resolvedParentPath;
  const relinked = state.parentPath !== recorded.parentPath || state.parentUniqueId !== recorded.parentUniqueId;
  // Inputs are rewritten only for a relink: the stored inputs then show the link the disk really has, so the next
  // `preview --diff` prints old -> new parent; otherwise they stay as they were (no refresh noise).
  return relinked ? { id: imagePath, props: state, inputs: inputsOf(state) } : { id: imagePath, props: state };
}

/**
 * Relinks the disk when its parent moved (same parent at a new path), then applies setting changes (protection,
 * adopt, checksum, path rules), and returns the complete outputs.
 */
export async function update(
  _id: string,
  olds: Partial<DiskState>,
  news: DiskInputs,
): Promise<pulumi.dynamic.UpdateResult<DiskState>> {
  const before = recordedState(olds);
  const recorded = sameParentAtNewPath(before, news) ? await relink(before, news) : before;
  let parentModeBeforeProtect = recorded.parentModeBeforeProtect;
  if (news.protectParent && !recorded.protectParent) {
    parentModeBeforeProtect = await parentLock.run(recorded.parentPath, () => protectParent(recorded.parentPath));
  } else if (!news.protectParent && recorded.protectParent) {
    await parentLock.run(recorded.parentPath, () => releaseParent(recorded, []));
    parentModeBeforeProtect = null;
  }
  const parentChecksum = news.checksum ? (recorded.parentChecksum ?? news.parentChecksum) : null;
  return { outs: { ...recorded, ...recordedSettings(news), parentChecksum, parentModeBeforeProtect } };
}

/**
 * Points the recorded disk at its parent's new path, `news.parentPath`, keeping its data (ops/set-parent.ts), after
 * checking once more, on the file as it is now, that it is the same parent; returns the state of the relinked disk.
 * A protected parent keeps its recorded mode: the move carried the read-only mode along.
 */
async function relink(recorded: DiskState, news: DiskInputs): Promise<DiskState> {
  const { parentPath } = news;
  const observation = await observeParent(parentPath, { checksum: news.checksum });
  if (!sameParentAtNewPath(recorded, { ...news, ...observedFacts(observation, {}) })) {
    throw new VhdError(
      "ERROR_VHD_CHILD_PARENT_ID_MISMATCH",
      "the file at parentPath changed since the plan and is no longer the disk's parent; run the deployment again",
      { parameter: "parentPath", path: parentPath },
    );
  }
  const { disk } = await setParent({ imagePath: recorded.imagePath, parentPath, pathRules: news.pathRules });
  const linked = await recordDisk({ ...news, protectParent: false }, childFacts(disk), recorded.adopted);
  return { ...linked, protectParent: recorded.protectParent, parentModeBeforeProtect: recorded.parentModeBeforeProtect };
}

/**
 * Deletes the disk file: only if it is still the disk this resource made (same unique id), never while another VHD
 * in its folder uses it as parent, and "already gone" is success. Undoes `protectParent` when no child remains.
 */
export async function remove(id: string, props: Partial<DiskState>): Promise<void> {
  const recorded = recordedState({ imagePath: id, ...props });
  const { imagePath } = recorded;
  await parentLock.run(recorded.parentPath, async () => {
    await deleteDisk({ imagePath, expectedUniqueId: recorded.uniqueId });
    await releaseParent(recorded, [imagePath]);
  });
}

/** Makes the parent writable again if this disk made it read-only and no other child is left next to either disk. */
async function releaseParent(recorded: DiskState, gone: string[]): Promise<void> {
  if (recorded.parentModeBeforeProtect === null) return;
  const folders = [...new Set([path.dirname(recorded.imagePath), path.dirname(recorded.parentPath)])];
  for (const folder of folders) {
    const others = await childDisksInFolder(folder, recorded.parentUniqueId, [...gone, recorded.imagePath]);
    if (others.length > 0) return;
  }
  await unprotectParent(recorded.parentPath, recorded.parentModeBeforeProtect);
}

/** The existing disk at `imagePath`, if it may be adopted: a differencing disk of exactly this parent. */
async function adoptable(inputs: DiskInputs): Promise<Awaited<ReturnType<typeof inspectDisk>>> {
  const { imagePath, parentPath } = inputs;
  const existing = await inspectDisk(imagePath);
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
  const parent = await parentIdentity(parentPath, await fingerprintFile(parentPath));
  if (parent.uniqueId !== facts.parentUniqueId) {
    throw refuse(`it was made from a parent with unique id ${facts.parentUniqueId}; ${parentPath} has ${parent.uniqueId}`);
  }
  if (inputs.blockSize !== undefined && inputs.blockSize !== facts.blockSize) {
    throw refuse(`its block size is ${facts.blockSize} bytes, not the ${inputs.blockSize} asked for`);
  }
  return existing;
}

/**
 * The state of a disk just created or adopted: the child's facts, the parent's identity, checksum and protection.
 * The parent and its ancestors are observed here, on the files the disk was made on, never taken from the inputs:
 * those can come from an older plan (under `--target`, the engine recreates a dependent with its old inputs).
 */
async function recordDisk(inputs: DiskInputs, facts: ChildFacts, adopted: boolean): Promise<DiskState> {
  const { parentPath } = inputs;
  const observation = await observeParent(parentPath, { checksum: inputs.checksum });
  const before = observation.parentFingerprint;
  if (before === null) {
    throw new VhdError("ERROR_PATH_NOT_FOUND", "the parent was removed while the disk was being made; restore it", {
      parameter: "parentPath",
      path: parentPath,
    });
  }
  const identity = await parentIdentity(parentPath, before);
  if (identity.uniqueId !== facts.parentUniqueId) {
    throw new VhdError(
      "ERROR_VHD_CHILD_PARENT_ID_MISMATCH",
      `the parent was replaced while the disk was being made (unique id ${identity.uniqueId}, the disk records ` +
        `${facts.parentUniqueId}); run the deployment again`,
      { parameter: "parentPath", path: parentPath },
    );
  }
  const parentModeBeforeProtect = inputs.protectParent
    ? await parentLock.run(parentPath, () => protectParent(parentPath))
    : null;
  const { resolvedParentPath: _resolved, ...link } = facts;
  return {
    ...recordedSettings(inputs),
    ...link,
    imagePath: inputs.imagePath,
    parentPath,
    foundUniqueId: facts.uniqueId,
    parentSize: before.size,
    parentDiskType: identity.diskType,
    // After protecting: chmod changes the parent's ctime, and the next preview must not read that as a change.
    parentFingerprint: parentModeBeforeProtect === null ? before : await fingerprintFile(parentPath),
    parentChecksum: observation.parentChecksum,
    ancestors: observation.ancestors ?? {},
    adopted,
    parentModeBeforeProtect,
  };
}

/** The state of a disk read with `get`: nothing recorded, so the parent as it is now stands for "when made". */
async function describeUnmanaged(imagePath: string, facts: ChildFacts): Promise<DiskState> {
  const { resolvedParentPath, ...link } = facts;
  if (resolvedParentPath === null) {
    throw new VhdError("ERROR_VHD_PARENT_VHD_NOT_FOUND", "the disk's parent cannot be found, so it cannot be described", {
      parameter: "imagePath",
      path: imagePath,
    });
  }
  const observation = await observeParent(resolvedParentPath, { checksum: true });
  const fingerprint = observation.parentFingerprint ?? (await fingerprintFile(resolvedParentPath));
  const identity = await parentIdentity(resolvedParentPath, fingerprint);
  return {
    ...recordedState({}),
    ...link,
    imagePath,
    parentPath: resolvedParentPath,
    foundUniqueId: facts.uniqueId,
    parentSize: fingerprint.size,
    parentDiskType: identity.diskType,
    parentFingerprint: fingerprint,
    parentChecksum: observation.parentChecksum,
    ancestors: observation.ancestors,
  };
}

/** The inputs that describe a recorded disk (what `check` would have produced for it). */
function inputsOf(state: DiskState): DiskInputs {
  return {
    imagePath: state.imagePath,
    parentPath: state.parentPath,
    adopt: state.adopt,
    protectParent: state.protectParent,
    pathRules: state.pathRules,
    checksum: state.checksum,
    ...observedFacts(state, {}),
  };
}

/**
 * A recorded state with the defaults of fields newer than the state (old state is served by the current code, so
 * it must read every earlier shape).
 */
function recordedState(props: Partial<DiskState>): DiskState {
  const defaults = {
    adopt: false,
    protectParent: false,
    pathRules: "windows",
    checksum: true,
    adopted: false,
    parentModeBeforeProtect: null,
    parentChecksum: null,
    ancestors: null,
    chain: [],
    chainDepth: 0,
  } satisfies Partial<DiskState>;
  const state = { ...defaults, ...props } as DiskState;
  return { ...state, foundUniqueId: props.foundUniqueId ?? state.uniqueId };
}

function failureOf(error: VhdError): pulumi.dynamic.CheckFailure {
  return { property: error.parameter ?? "imagePath", reason: error.message };
}
