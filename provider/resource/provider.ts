/**
 * The `DifferencingDisk` provider: what the Pulumi engine calls. Loaded by name (`pulumi-vhd/dist/resource/provider`)
 * by the serialized shim (shim.ts), so old state is always served by the installed code.
 *
 * - `check` validates the inputs (the contract's path rules), fills defaults, and observes the parent; the observation
 *   becomes part of the inputs so that `pulumi preview --diff` prints the parent's old and new checksum / id / size.
 * - `diff` applies replace-rules.ts.
 * - `create` validates against every row of the error table and writes atomically (ops), or takes over an existing
 *   disk (`adopt`, or its own from an interrupted run), claiming it in an ownership record (ops/ownership.ts).
 * - `read` (refresh, `get`) re-reads the disk: gone, replaced, overwritten or relinked disks surface on the next preview.
 * - `update` relinks a disk whose parent moved (same parent at a new path) and applies setting changes in place.
 * - `remove` (delete) removes the disk file, only the disk this resource made and owns, then its ownership record
 *   and the folders `create` made when they are empty.
 *
 * Every method fails as one clean line (provider-failure.ts); with secret paths, every path-bearing value goes back
 * to the engine as a secret and the id is the disk's unique id (secret-values.ts).
 */
// First: its evaluation marks where loading this module's graph begins (see hook-trace.ts).
import { traced } from "./hook-trace";
import * as path from "node:path";
import type * as pulumi from "@pulumi/pulumi";
import { VhdError, isVhdError } from "../errors";
import { resolveDiskPaths, resolveSinglePath } from "../inputs/paths";
import { ancestorsOnHost, stateOnHost, storageOf } from "./disk-host";
import { checkDistinctPaths, checkSameFormat } from "../inputs/validate";
import { createDifferencingDisk } from "../ops/create-differencing";
import { recordCreatedFolders } from "../ops/created-folders";
import { deleteDisk, discardNewDisk } from "../ops/delete-disk";
import { claimDisk, managedElsewhere, ownerOf, sameResourceInStack, transferOwner } from "../ops/ownership";
import { adoptableDisk, holderOf, recordFoundDisk, recordNewDisk, releaseParent, withParentLock } from "../ops/manage-disk";
import { protectParent, releaseHold } from "../ops/protect-parent";
import { setParent } from "../ops/set-parent";
import { claimingDriver, driverForNewFile } from "../disk/formats";
import { identifyDisk } from "../vhd/disk-identity";
import { type DiskInfo, inspectDisk } from "../disk/inspect";
import { childFacts, type ChildFacts } from "../ops/disk-facts";
import { observeParent } from "../ops/observe-parent";
import { namedOn, reportingFailures } from "./provider-failure";
import { PATH_KEYS, pickFields, stateDefaults } from "./schema";
import { RELINK_NOTE, planDiff, sameAncestorFacts, sameParentAtNewPath } from "./replace-rules";
import { type EngineInputs, type EngineState, secretPathValues } from "./secret-values";
import { type RawInputs, readSettings, recordedSettings } from "./settings";
import { inRecordedKind, observedFacts } from "./observed-inputs";
import type { Storage } from "../storage/port";
import { isSshUrl, parseSshUrl } from "../storage/ssh/ssh-url";
import { type DiskInputs, type DiskSettings, type DiskState, type ObservedFacts, UNKNOWN, isUnknown } from "./state";

/** What {@link read} returns: `pulumi.dynamic.ReadResult` with `inputs` in the inputs' shape. */
export interface DiskReadResult {
  /** The disk's id, or `""` when it is gone. */
  id: string;
  /** The state as read. */
  props?: EngineState;
  /** Replacement inputs, when the refresh found a relinked disk. */
  inputs?: EngineInputs;
}

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
async function checkDisk(
  olds: Partial<DiskInputs>,
  news: RawInputs,
): Promise<pulumi.dynamic.CheckResult<EngineInputs>> {
  const { settings, errors } = readSettings(news);
  if (settings === undefined) return { failures: errors.map(failureOf) };
  const { imagePath, parentPath } = news;
  if (isUnknown(imagePath) || isUnknown(parentPath)) {
    // A relative path is relative to the other one's folder: with that one unknown, where it points is unknown too.
    const known = (value: unknown): unknown => (typeof value === "string" && path.isAbsolute(value) ? path.resolve(value) : UNKNOWN);
    const inputs = { ...settings, imagePath: known(imagePath), parentPath: known(parentPath), ...UNKNOWN_OBSERVATION } as DiskInputs;
    return { inputs: secretPathValues(inputs, settings.secretPaths) };
  }
  const storage = storageOf({ ...settings, imagePath, parentPath });
  try {
    const paths = resolveDiskPaths(
      { imagePath: imagePath as string, parentPath: parentPath as string },
      { pathRules: settings.pathRules, flavour: storage.pathFlavour },
    );
    checkNewDiskRules(paths, settings);
    // A missing parent is no failure here: an earlier step of the same run may make it (a moved or recreated
    // parent). diff plans the replace, saying so, and create refuses with the contract's error if it is still missing.
    const inputs: DiskInputs = { ...settings, ...paths, ...(await parentFactsAt(paths.parentPath, settings, news, olds)) };
    if (inputs.parentUniqueId !== null) await checkParentFormat(paths, storage);
    const relink = sameParentAtNewPath(olds, inputs) ? { relink: RELINK_NOTE } : {};
    return { inputs: secretPathValues({ ...inputs, ...relink }, settings.secretPaths) };
  } catch (error) {
    return { failures: [failureOf(namedOn(storage, error))] };
  }
}

/**
 * The facts of the parent at `parentPath` as the inputs carry them: observed now, each checksum in the kind `recorded`
 * has (observed-inputs.ts), a fact the engine carried over in `raw` kept, the ancestors named with the host.
 */
async function parentFactsAt(
  parentPath: string,
  settings: DiskSettings,
  raw: RawInputs,
  recorded: Partial<ObservedFacts>,
): Promise<ObservedFacts> {
  const storage = storageOf(settings);
  const observation = await observeParent(parentPath, { checksum: settings.checksum, storage });
  const facts = await inRecordedKind(observedFacts(observation, raw), observation, parentPath, recorded, storage);
  return { ...facts, ancestors: ancestorsOnHost(storage, facts.ancestors) };
}

/** A parent of the other format than the child's name asks for: the preview refuses it, as create would. */
async function checkParentFormat(paths: { imagePath: string; parentPath: string }, storage: Storage): Promise<void> {
  const parent = await claimingDriver(paths.parentPath, { storage, parameter: "parentPath" });
  if (parent === null) return;
  checkSameFormat(driverForNewFile(paths.imagePath).format, paths.imagePath, { format: parent.format, path: paths.parentPath });
}

/** The rules of a new disk that need no file: reported by `check`, so a preview finds them, not only `up`. */
function checkNewDiskRules(paths: { imagePath: string; parentPath: string }, settings: DiskSettings): void {
  checkDistinctPaths(paths.imagePath, paths.parentPath);
  if (settings.blockSize !== undefined && !isUnknown(settings.blockSize)) {
    driverForNewFile(paths.imagePath).checkBlockSize(settings.blockSize, paths.imagePath);
  }
}

/**
 * Decides replace / update / nothing (replace-rules.ts). Looks at the disk file itself too (its footer only): a file
 * deleted, replaced or overwritten since the last refresh is planned as a replace even without one.
 *
 * The dynamic-provider protocol carries no changed keys, and without them the engine prints every input of a
 * replaced disk, changed or not, and cannot apply `replaceOnChanges`. So when every change is a change of the inputs,
 * `changes` is left undefined: the engine then diffs the old and new inputs itself, prints only the changed ones and
 * applies `replaceOnChanges`, keeping the replace list given here. A reason outside the inputs (the disk file
 * deleted or replaced) says `changes: true`, since the inputs alone would show nothing to do.
 */
async function diffDisk(_id: string, olds: Partial<DiskState>, news: DiskInputs): Promise<pulumi.dynamic.DiffResult> {
  const recorded = recordedState(olds);
  const storage = storageOf(recorded);
  return reportingFailures(storage, async () => {
    const found = await identifyDisk(recorded.imagePath, "imagePath", storage);
    const observed = found.kind === "missing" ? recorded : { ...recorded, foundUniqueId: foundUniqueIdOf(found) };
    const planned = isUnknown(news.parentPath) ? await withRecordedParentFacts(recorded, news) : news;
    const { changes, changesInInputs, replaces, deleteBeforeReplace } = planDiff(observed, planned, {
      imageExists: found.kind !== "missing",
    });
    return { changes: changesInInputs ? undefined : changes, replaces, deleteBeforeReplace };
  });
}

/**
 * `news`, whose `parentPath` is unknown, with the facts of the parent file at the recorded `parentPath` as observed
 * now: the disk's own reasons besides its parent's replace. The engine asks `diff` so for each disk below one it
 * replaces delete-before-replace (`parentPath` unknown, the rest the old inputs) and gives the replace list as that
 * disk's reasons (`replaceReasons` of its `create-replacement` step), so a grandchild of an edited golden image says
 * `ancestors`, not only `parentPath`. A parent whose chain no longer opens above it (its ancestors not observed,
 * observe-parent.ts) has other disks above it than recorded, so its ancestors count as changed: a VHDX golden image
 * written into has a new DataWriteGuid. The replace itself is decided by the unknown `parentPath` whatever is
 * observed; a parent that cannot be read now (the reasons are then `parentPath` alone) changes nothing there.
 */
async function withRecordedParentFacts(recorded: DiskState, news: DiskInputs): Promise<DiskInputs> {
  const facts = await parentFactsAt(recorded.parentPath, recorded, {}, recorded).catch(() => null);
  if (facts === null) return news;
  const brokenAbove = facts.ancestors === null && facts.parentUniqueId !== null && recorded.ancestors !== null;
  return { ...news, ...facts, ancestors: brokenAbove ? UNKNOWN_OBSERVATION.ancestors : facts.ancestors };
}

/**
 * Creates the disk and records it, or takes over an existing one: with `adopt`, or without it when the disk's
 * ownership record names this very resource (its earlier `up` was killed after the disk was made; see ownership.ts).
 * A disk another resource owns is refused. Leaves nothing behind on failure.
 */
async function createDisk(inputs: DiskInputs): Promise<pulumi.dynamic.CreateResult<EngineState>> {
  const storage = storageOf(inputs);
  return reportingFailures(storage, async () => {
    const { imagePath } = inputs;
    const takeover = await takeoverOf(inputs, storage);
    const child = takeover === null ? await createNew(inputs, storage) : { ...takeover.disk, createdFolders: [] };
    try {
      // The folders made belong to every disk put into them, whichever is deleted last (ops/created-folders.ts).
      await recordCreatedFolders(storage, child.createdFolders);
      const state = await recordDisk(inputs, childFacts(child), takeover?.kind === "adopt", child.createdFolders, storage);
      if (inputs.owner !== undefined) {
        const holder = await claimDisk(imagePath, { owner: inputs.owner, uniqueId: state.uniqueId }, storage);
        if (holder !== null) throw ownedElsewhere(imagePath, holder, inputs.owner, storage);
      }
      return { id: diskId(state), outs: secretPathValues(state, state.secretPaths) };
    } catch (error) {
      // The disk was written by this call: take it back.
      if (takeover === null) await discardNewDisk(imagePath, child.createdFolders, storage);
      throw error;
    }
  });
}

/**
 * Whether `create` takes over the disk already at `imagePath`, and that disk: `"adopt"` (asked for) or `"own"` (its
 * ownership record names this resource: the disk an interrupted run of it made), or `null` (create writes a new disk,
 * and refuses any file in the way with its own error).
 * @throws VhdError `ERROR_ALREADY_EXISTS` when another resource owns the disk there, or it cannot be adopted.
 */
async function takeoverOf(inputs: DiskInputs, storage: Storage): Promise<{ kind: "adopt" | "own"; disk: DiskInfo } | null> {
  const found = await identifyDisk(inputs.imagePath, "imagePath", storage);
  if (found.kind !== "vhd") return null;
  const owner = await ownerOf(inputs.imagePath, found.fileId, storage);
  if (owner !== null && owner !== inputs.owner) throw ownedElsewhere(inputs.imagePath, owner, inputs.owner, storage);
  if (owner !== null) {
    // Ours, but only a disk exactly as create would make it now is taken over. The other disk of ours there is the
    // one a create-first replace is replacing (its parent is missing): create must then fail with the contract's
    // error and leave it.
    const disk = await adoptableDisk({ ...inputs, storage }).catch(() => null);
    return disk === null ? null : { kind: "own", disk };
  }
  return inputs.adopt ? { kind: "adopt", disk: await adoptableDisk({ ...inputs, storage }) } : null;
}

/**
 * The refusal of a disk another resource owns (one disk, one owner), its record named as `storage` names it. When the
 * owner is this very resource in another stack of the project, it says how to go on after a `pulumi stack rename`
 * (see ownership.ts `sameResourceInStack`).
 */
function ownedElsewhere(imagePath: string, owner: string, claimant: string | undefined, storage: Storage): VhdError {
  const stack = claimant === undefined ? null : sameResourceInStack(owner, claimant);
  const wayOut =
    stack === null
      ? "choose another imagePath, or remove that resource first"
      : `that is this resource in stack "${stack}": if "${stack}" is another stack of this project, it owns the disk ` +
        "(choose another imagePath per stack); if this stack was renamed from it (`pulumi stack rename`), remove that " +
        "record and set `adopt: true` for one `up`";
  return new VhdError(
    "ERROR_ALREADY_EXISTS",
    `the disk there is ${managedElsewhere(imagePath, owner, storage)}; one disk has one owner: ${wayOut}`,
    { parameter: "imagePath", path: imagePath, details: { owner } },
  );
}

/** Writes a new disk. A file already at `imagePath` is refused, with the ways to recover an interrupted deployment. */
async function createNew(inputs: DiskInputs, storage: Storage): ReturnType<typeof createDifferencingDisk> {
  const { imagePath, parentPath } = inputs;
  try {
    return await createDifferencingDisk({
      imagePath,
      parentPath,
      blockSize: inputs.blockSize,
      pathRules: inputs.pathRules,
      storage,
    });
  } catch (error) {
    if (!isVhdError(error, "ERROR_ALREADY_EXISTS") || error.path !== imagePath) throw error;
    throw new VhdError(
      "ERROR_ALREADY_EXISTS",
      `${error.reason}. If it is the disk of an interrupted \`pulumi up\` (killed while creating), or a disk you moved ` +
        "there by hand and now point imagePath at, take it over: set `adopt: true` on the resource for one `pulumi up`",
      { parameter: "imagePath", path: imagePath, cause: error, details: error.details },
    );
  }
}

/**
 * Re-reads the disk at `id`. A disk deleted outside Pulumi returns an empty id (the engine drops it from the state).
 * A file with another unique id keeps the recorded disk and sets `foundUniqueId`; a relinked disk records its new
 * parent link; either makes the next preview plan a replace. With nothing recorded (`get`), the disk is described as
 * it is now; with nothing recorded but the class's `owner` (an import of a pending create, which Pulumi v3.248.0's
 * `refresh --import-pending-creates` never asks for: README, known limits), it is also claimed for that resource
 * (ownership.ts), or refused with `ERROR_ALREADY_EXISTS` when another resource owns it.
 */
async function readDisk(id: string, props: Partial<DiskState>): Promise<DiskReadResult> {
  const storage = storageOf(props);
  return reportingFailures(storage, async () => {
    // The id is the path, except for a disk with secret paths (see diskId); the state always has the path.
    const given = props.imagePath ?? id;
    if (UNIQUE_ID.test(given)) throw uniqueIdGiven(given);
    const imagePath = resolveSinglePath(pathOnHost(given, storage), "imagePath", { pathRules: "posix", flavour: storage.pathFlavour });
    const found = await identifyDisk(imagePath, "imagePath", storage);
    if (found.kind === "missing") return { id: "" };
    if (typeof props.uniqueId !== "string") {
      const found = await recordFoundDisk(await inspectDisk(imagePath, { parameter: "imagePath", storage }), storage);
      const state: DiskState = stateOnHost(storage, { ...recordedState(settingsOf(props)), ...found });
      // An import of a pending create (props are the create's inputs, with the class's `owner`) makes the disk the
      // resource's, as the create would have: without the record, a later takeover or delete sees no owner. `get`
      // gives no owner and claims nothing.
      if (state.owner !== undefined) {
        const holder = await claimDisk(imagePath, { owner: state.owner, uniqueId: state.uniqueId }, storage);
        if (holder !== null) throw ownedElsewhere(imagePath, holder, state.owner, storage);
      }
      return { id: diskId(state), props: secretPathValues(state, state.secretPaths) };
    }
    const recorded = recordedState(props);
    const foundUniqueId = foundUniqueIdOf(found);
    if (foundUniqueId !== recorded.uniqueId) {
      const state = { ...recorded, foundUniqueId };
      return { id: diskId(state), props: secretPathValues(state, state.secretPaths) };
    }
    const { resolvedParentPath, ...link } = childFacts(await inspectDisk(imagePath, { parameter: "imagePath", storage }));
    const state: DiskState = stateOnHost(storage, { ...recorded, ...link, foundUniqueId });
    if (resolvedParentPath !== null) state.parentPath = resolvedParentPath;
    const relinked = state.parentPath !== recorded.parentPath || state.parentUniqueId !== recorded.parentUniqueId;
    const result = { id: diskId(state), props: secretPathValues(state, state.secretPaths) };
    // Inputs are rewritten only for a relink: the stored inputs then show the link the disk really has, so the next
    // `preview --diff` prints old -> new parent; otherwise they stay as they were (no refresh noise).
    return relinked ? { ...result, inputs: secretPathValues(inputsOf(state), state.secretPaths) } : result;
  });
}

/**
 * The host path of `given`: a path as it is, or the path of an `ssh://` id (what `get` takes for a remote disk), which
 * must name the host of the connection given.
 * @throws `E_INVALIDARG` for an `ssh://` id without a connection or on another host; `ERROR_BAD_PATHNAME` for a
 *   malformed one.
 */
function pathOnHost(given: string, storage: Storage): string {
  if (!isSshUrl(given)) return given;
  const url = parseSshUrl(given, "imagePath");
  const named = storage.describe(url.path);
  if (storage.host === undefined || named !== given) {
    const reach = storage.host === undefined ? "no connection was given" : `the connection given reaches ${storage.host}`;
    throw new VhdError(
      "E_INVALIDARG",
      `${reach}: give DifferencingDisk.get the connection of the disk's host (same user, host and port as the id, ` +
        "written in full: ssh://user@host:port/abs/path) as its fourth argument, { connection }",
      { parameter: "imagePath", path: given },
    );
  }
  return url.path;
}

/** A disk's unique id as `formatUniqueId` writes it: what the id of a disk with secret paths is (see diskId). */
const UNIQUE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * `get` given the id of a disk with secret paths: its unique id, which says nothing about where the disk is. Without
 * this the unique id would be refused as a relative path, which tells the user nothing about what to give instead.
 */
function uniqueIdGiven(id: string): VhdError {
  return new VhdError(
    "E_INVALIDARG",
    `${id} is a disk's unique id (the id of a disk with secret paths, which keeps its path out of the plain-text id), ` +
      "and a disk cannot be found by it: give DifferencingDisk.get the disk's absolute path, as a secret " +
      "(`pulumi.secret(path)`) to keep it one",
    { parameter: "imagePath", value: id },
  );
}

/**
 * Relinks the disk when its parent moved (same parent at a new path), records the parent facts the plan found in a
 * new form (see replace-rules.ts `factsToRecord`), then applies setting changes (protection, adopt, checksum, path
 * rules), and returns the complete outputs.
 */
async function updateDisk(
  _id: string,
  olds: Partial<DiskState>,
  news: DiskInputs,
): Promise<pulumi.dynamic.UpdateResult<EngineState>> {
  const before = recordedState(olds);
  const storage = storageOf(before);
  return reportingFailures(storage, async () => {
    const recorded = sameParentAtNewPath(before, news) ? await relink(before, news, storage) : await withPlannedFacts(before, news, storage);
    let parentModeBeforeProtect = recorded.parentModeBeforeProtect;
    if (news.protectParent && !recorded.protectParent) {
      parentModeBeforeProtect = await withParentLock(recorded.parentPath, () =>
        protectParent(recorded.parentPath, holderOf({ ...recorded, secretPaths: news.secretPaths }), storage),
      );
    } else if (!news.protectParent && recorded.protectParent) {
      await withParentLock(recorded.parentPath, () => releaseParent(recorded, [], storage));
      parentModeBeforeProtect = null;
    }
    // A fact the engine carried over from older inputs (ignoreChanges, --target) is not what the disk was made on.
    const observedChecksum = news.carriedFacts?.includes("parentChecksum") ? null : news.parentChecksum;
    const parentChecksum = news.checksum ? (observedChecksum ?? recorded.parentChecksum) : null;
    // The state takes the URN the resource has now; the record beside the disk must name the same, or delete refuses.
    if (recorded.owner !== undefined && news.owner !== undefined) {
      await transferOwner(recorded.imagePath, recorded.uniqueId, recorded.owner, news.owner, storage);
    }
    const state: DiskState = { ...recorded, ...recordedSettings(news), parentChecksum, parentModeBeforeProtect };
    return { outs: secretPathValues(state, state.secretPaths) };
  });
}

/**
 * The recorded disk with the ancestors the plan observed (`news.ancestors`, an ancestor moved or a checksum of the new
 * kind; no replace rule applied, so they are the recorded disks) and the chain as the disk resolves it now. The
 * fingerprints come from observing the chain again; a disk no longer where the plan saw it fails the update, as a
 * changed parent fails a relink.
 */
async function withPlannedFacts(recorded: DiskState, news: DiskInputs, storage: Storage): Promise<DiskState> {
  if (news.ancestors === null || recorded.ancestors === null || news.carriedFacts?.includes("ancestors")) return recorded;
  if (sameAncestorFacts(recorded.ancestors, news.ancestors)) return recorded;
  const observed = ancestorsOnHost(storage, (await observeParent(recorded.parentPath, { checksum: false, storage })).ancestors ?? {});
  const ancestors = Object.fromEntries(
    Object.entries(news.ancestors).map(([diskPath, facts]) => {
      const now = observed[diskPath];
      if (now === undefined || now.uniqueId !== facts.uniqueId) {
        throw new VhdError(
          "ERROR_VHD_PARENT_VHD_NOT_FOUND",
          `the disk ${facts.uniqueId} above the parent is no longer at ${diskPath}, where the plan found it; run the deployment again`,
          { parameter: "parentPath", path: recorded.parentPath, details: { ancestor: diskPath } },
        );
      }
      return [diskPath, { ...facts, fingerprint: now.fingerprint }];
    }),
  );
  const { chain, chainDepth } = childFacts(await inspectDisk(recorded.imagePath, { storage }));
  return stateOnHost(storage, { ...recorded, ancestors, chain, chainDepth });
}

/**
 * Points the recorded disk at its parent's new path, `news.parentPath`, keeping its data (ops/set-parent.ts), after
 * checking once more, on the file as it is now, that it is the same parent; returns the state of the relinked disk.
 * A protected parent's hold moves along: released at the old path, taken at the new one; the mode to give back stays
 * the one recorded (the move carried the read-only mode along).
 */
async function relink(recorded: DiskState, news: DiskInputs, storage: Storage): Promise<DiskState> {
  const { parentPath } = news;
  const observation = await observeParent(parentPath, { checksum: news.checksum, storage });
  if (!sameParentAtNewPath(recorded, { ...news, ...observedFacts(observation, {}) })) {
    throw new VhdError(
      "ERROR_VHD_CHILD_PARENT_ID_MISMATCH",
      "the file at parentPath changed since the plan and is no longer the disk's parent; run the deployment again",
      { parameter: "parentPath", path: parentPath },
    );
  }
  const { disk } = await setParent({ imagePath: recorded.imagePath, parentPath, pathRules: news.pathRules, storage });
  const linked = await recordDisk({ ...news, protectParent: false }, childFacts(disk), recorded.adopted, recorded.createdFolders, storage);
  if (!recorded.protectParent) return linked;
  await withParentLock(recorded.parentPath, () => releaseHold(recorded.parentPath, holderOf({ ...recorded, secretPaths: news.secretPaths }), storage));
  const modeBefore = await withParentLock(parentPath, () =>
    protectParent(parentPath, holderOf({ ...recorded, secretPaths: news.secretPaths }), storage),
  );
  return { ...linked, protectParent: true, parentModeBeforeProtect: modeBefore ?? recorded.parentModeBeforeProtect };
}

/**
 * Deletes the disk file (ops/delete-disk.ts): only if it is still the disk this resource made (same unique id) and no
 * other resource owns it, never while another VHD in its folder uses it as parent, and "already gone" is success.
 * Lets go of the parent's protection (the parent becomes writable when no holder is left).
 */
async function removeDisk(id: string, props: Partial<DiskState>): Promise<void> {
  const recorded = recordedState({ imagePath: id, ...props });
  const storage = storageOf(recorded);
  return reportingFailures(storage, async () => {
    const { imagePath, owner, createdFolders } = recorded;
    // Siblings are deleted side by side: only letting go of the shared parent is one at a time (its holds record,
    // or the "last child" rule, which each disk applies after its own file is gone, so the last one sees them all gone).
    await deleteDisk({ imagePath, expectedUniqueId: recorded.uniqueId, owner, createdFolders, storage });
    await withParentLock(recorded.parentPath, () => releaseParent(recorded, [imagePath], storage));
  });
}

/**
 * The state of a disk just created or adopted (ops/manage-disk.ts `recordNewDisk`), with the settings as given and
 * what only the resource keeps: adopted or not, the parent's mode to give back, the folders to remove again.
 */
async function recordDisk(
  inputs: DiskInputs,
  facts: ChildFacts,
  adopted: boolean,
  createdFolders: string[],
  storage: Storage,
): Promise<DiskState> {
  const protectFor = inputs.protectParent ? holderOf({ ...inputs, uniqueId: facts.uniqueId }) : null;
  const { imagePath, parentPath, checksum } = inputs;
  const { record, parentModeBeforeProtect } = await recordNewDisk({ imagePath, parentPath, checksum, protectFor, storage }, facts);
  return stateOnHost(storage, { ...recordedSettings(inputs), ...record, adopted, parentModeBeforeProtect, createdFolders });
}

/** The inputs that describe a recorded disk (what `check` would have produced for it). */
function inputsOf(state: DiskState): DiskInputs {
  return {
    ...pickFields(state, PATH_KEYS),
    ...recordedSettings(state),
    ...observedFacts(state, {}),
  };
}

/**
 * A recorded state with the defaults of fields newer than the state (old state is served by the current code, so
 * it must read every earlier shape).
 */
function recordedState(props: Partial<DiskState>): DiskState {
  const state = { ...stateDefaults(), ...props } as DiskState;
  // `null` is a finding (not a VHD), not a missing field.
  return { ...state, foundUniqueId: props.foundUniqueId === undefined ? state.uniqueId : props.foundUniqueId };
}

/** The settings among `props` (the inputs of an interrupted create, or nothing for `get`), the rest left out. */
function settingsOf(props: Partial<DiskState>): Partial<DiskState> {
  const settings = readSettings(props);
  return settings.settings === undefined ? {} : recordedSettings(settings.settings);
}

/**
 * The resource id: the disk's absolute path, which `get` takes, named with its host for a disk on a remote host
 * (`ssh://user@host:port/abs/path`, disk-host.ts); for a disk with secret paths its unique id instead, since Pulumi
 * stores ids in plain text.
 */
function diskId(state: Pick<DiskState, "imagePath" | "uniqueId" | "secretPaths" | "connection">): string {
  return state.secretPaths ? state.uniqueId : storageOf(state).describe(state.imagePath);
}

/** What the state records as found at `imagePath`: the VHD's unique id, or `null` for a file that is not a VHD. */
function foundUniqueIdOf(found: { kind: "vhd"; fileId: string } | { kind: "not-a-vhd" }): string | null {
  return found.kind === "vhd" ? found.fileId : null;
}

function failureOf(error: VhdError): pulumi.dynamic.CheckFailure {
  return { property: error.parameter ?? "imagePath", reason: error.message };
}

/** The hooks the engine calls (through shim.ts), each timed into the statistics record when it is on (hook-trace.ts). */
export const check = traced("check", checkDisk);
export const diff = traced("diff", diffDisk);
export const create = traced("create", createDisk);
export const read = traced("read", readDisk);
export const update = traced("update", updateDisk);
export const remove = traced("delete", removeDisk);
