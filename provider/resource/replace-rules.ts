/**
 * When a disk must be rebuilt, as data. `diff` is derived from these tables; nothing else decides a replace.
 *
 * A differencing disk stores only the sectors written after it was made and reads every other sector from its parent,
 * so a disk is only valid against the exact parent bytes it was made on. Any change to those bytes, the parent's
 * identity or the link itself invalidates it: the only safe action is a new disk (a replace), never an update.
 */
import type { AncestorFacts, DiskInputs, DiskSettings, DiskState } from "./state";
import { isUnknown } from "./state";

/** Facts about the disk file that `diff` looks up before applying the rules. */
export interface DiskFileFacts {
  /** Whether a file exists at the recorded `imagePath`. */
  imageExists: boolean;
}

/** One reason to rebuild: the input it is reported under, and a sentence for people. */
export interface ReplaceRule {
  /** The input named in the engine's replace list (and shown by `pulumi preview --diff`). */
  property: keyof DiskInputs;
  /** Why a change of it means a new disk. */
  reason: string;
  /** True when the rule applies. */
  applies(olds: DiskState, news: DiskInputs, facts: DiskFileFacts): boolean;
  /**
   * False when the reason lies outside the inputs (the disk file itself): the engine, comparing old and new inputs,
   * would see no change there.
   */
  inInputs: boolean;
}

/** What {@link planDiff} decides, in the shape of `pulumi.dynamic.DiffResult` plus the reasons. */
export interface DiskDiff {
  /** Anything to do at all (false: no step, `--expect-no-changes` passes). */
  changes: boolean;
  /** Inputs whose change forces a replace (deduplicated, in rule order). */
  replaces: string[];
  /**
   * Delete the old disk first, if the disk is replaced (for a reason here, or by the engine for `replaceOnChanges`):
   * true when the new disk takes the same (or a not yet known) path, unless no file is at an unchanged parentPath. Then the new disk is created first: if an earlier step of the run does not make the
   * parent, create fails with the contract's error and the existing disk, whose parent may still be restored, is left
   * as it is. (A disk given a new parentPath is rebuilt empty whatever happens, so deleting it first loses nothing.)
   */
  deleteBeforeReplace: boolean;
  /** The settings that change in place (an update when nothing is replaced). */
  updatedSettings: (keyof DiskSettings)[];
  /** True when there are changes and every one is a change of the inputs (see {@link ReplaceRule.inInputs}). */
  changesInInputs: boolean;
  /** Sentences explaining each replace, for logs and tests. */
  reasons: string[];
}

/** True when a new value is unknown (preview) or differs from the recorded one. */
function changedOrUnknown(recorded: unknown, next: unknown): boolean {
  return isUnknown(next) || recorded !== next;
}

/**
 * The replace rules, in the order they are reported. An observed parent fact that is `null` (checksum off, nothing
 * observed) never triggers a replace on its own.
 */
export const REPLACE_RULES: readonly ReplaceRule[] = [
  {
    property: "imagePath",
    reason: "the disk moves to another path",
    applies: (olds, news) => changedOrUnknown(olds.imagePath, news.imagePath),
    inInputs: true,
  },
  {
    property: "imagePath",
    reason: "the disk file was deleted outside Pulumi",
    applies: (_olds, _news, facts) => !facts.imageExists,
    inInputs: false,
  },
  {
    property: "imagePath",
    reason: "the file at imagePath is no longer the disk this resource created (its unique id differs)",
    applies: (olds) => olds.foundUniqueId !== olds.uniqueId,
    inInputs: false,
  },
  {
    property: "parentPath",
    reason: "the disk must link to another parent file, or its parent is being replaced",
    applies: (olds, news) => changedOrUnknown(olds.parentPath, news.parentPath),
    inInputs: true,
  },
  {
    property: "parentPath",
    reason:
      "no file is at parentPath now: an earlier step of this run makes it (a moved or recreated parent), or it is " +
      "missing, and then creating the new disk fails with ERROR_PATH_NOT_FOUND",
    applies: (_olds, news) => news.parentUniqueId === null,
    inInputs: true,
  },
  {
    property: "blockSize",
    reason: "the block size is fixed when a disk is made",
    applies: (olds, news) => news.blockSize !== undefined && changedOrUnknown(olds.blockSize, news.blockSize),
    inInputs: true,
  },
  {
    property: "parentUniqueId",
    reason: "the parent is another disk now (its unique id differs from the one recorded in the child)",
    applies: (olds, news) => news.parentUniqueId !== null && changedOrUnknown(olds.parentUniqueId, news.parentUniqueId),
    inInputs: true,
  },
  {
    property: "parentSize",
    reason: "the parent's size changed since the disk was made",
    applies: (olds, news) => news.parentSize !== null && changedOrUnknown(olds.parentSize, news.parentSize),
    inInputs: true,
  },
  {
    property: "parentChecksum",
    reason: "the parent's content changed since the disk was made (its SHA-256 differs)",
    applies: (olds, news) =>
      olds.checksum &&
      news.checksum &&
      olds.parentChecksum !== null &&
      news.parentChecksum !== null &&
      changedOrUnknown(olds.parentChecksum, news.parentChecksum),
    inInputs: true,
  },
  {
    property: "ancestors",
    reason: "a disk further up the chain changed since the disk was made (its unique id, size or SHA-256 differs)",
    applies: (olds, news) => ancestorsChanged(olds.ancestors, news.ancestors),
    inInputs: true,
  },
];

/**
 * True when the chain above the parent differs from the recorded one: another set of disks, or one whose unique id,
 * size or checksum (when both sides have one) changed. Nothing recorded (older state) or observed compares equal.
 */
function ancestorsChanged(
  recorded: Record<string, AncestorFacts> | null | undefined,
  observed: Record<string, AncestorFacts> | null,
): boolean {
  if (isUnknown(observed)) return true;
  if (recorded === null || recorded === undefined || observed === null) return false;
  const paths = Object.keys(observed);
  if (paths.length !== Object.keys(recorded).length) return true;
  return paths.some((path) => {
    const then = recorded[path];
    const now = observed[path];
    if (then === undefined || now === undefined) return true;
    const checksumsDiffer = then.checksum !== null && now.checksum !== null && then.checksum !== now.checksum;
    return then.uniqueId !== now.uniqueId || then.size !== now.size || checksumsDiffer;
  });
}

/** Settings that change in place: `update` applies them to the existing disk. */
export const UPDATE_IN_PLACE: readonly (keyof DiskSettings)[] = ["adopt", "protectParent", "pathRules", "checksum"];

/**
 * The diff of a recorded disk (`olds`, the state) against the checked inputs (`news`): replace when any
 * {@link REPLACE_RULES} applies (but never for a fact the engine carried over, see `carriedFacts`), update when only
 * an {@link UPDATE_IN_PLACE} setting changed or the checksum was turned on for a disk recorded without one, else
 * nothing at all.
 */
export function planDiff(olds: DiskState, news: DiskInputs, facts: DiskFileFacts): DiskDiff {
  const carried = new Set<keyof DiskInputs>(news.carriedFacts ?? []);
  const applying = REPLACE_RULES.filter((rule) => !carried.has(rule.property) && rule.applies(olds, news, facts));
  const replaces = [...new Set(applying.map((rule) => rule.property))];
  const updatedSettings = UPDATE_IN_PLACE.filter((setting) => changedOrUnknown(olds[setting], news[setting]));
  const checksumToRecord = news.checksum && olds.parentChecksum === null && news.parentChecksum !== null;
  const moves = news.imagePath !== olds.imagePath && !isUnknown(news.imagePath);
  const changes = replaces.length > 0 || updatedSettings.length > 0 || checksumToRecord;
  return {
    changes,
    changesInInputs: changes && !checksumToRecord && applying.every((rule) => rule.inInputs),
    replaces,
    deleteBeforeReplace: !moves && (news.parentUniqueId !== null || news.parentPath !== olds.parentPath),
    updatedSettings,
    reasons: applying.map((rule) => `${rule.property}: ${rule.reason}`),
  };
}
