/**
 * When a disk must be rebuilt, as data. `diff` is derived from these tables; nothing else decides a replace.
 *
 * A differencing disk stores only the sectors written after it was made and reads every other sector from its parent,
 * so a disk is only valid against the exact parent bytes it was made on. Any change to those bytes or the parent's
 * identity invalidates it: the only safe action is a new disk (a replace). The one exception is the same parent at a
 * new path, which a relink follows in place (an update; `Set-VHD -ParentPath`).
 */
import { CONNECTION_DEFAULTS, type ConnectionArgs } from "../storage/ssh/connection-args";
import { isUnlinkedChecksum } from "../vhd/unlinked-checksum";
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
   * Said for a settings update too: `replaceOnChanges` can turn it into a replace, and at the same path the old disk
   * must go first (created first, the new disk would meet the old one's file).
   */
  deleteBeforeReplace: boolean;
  /** The settings that change in place (an update when nothing is replaced). */
  updatedSettings: (keyof DiskSettings)[];
  /** True when there are changes and every one is a change of the inputs (see {@link ReplaceRule.inInputs}). */
  changesInInputs: boolean;
  /** Sentences explaining each replace, for logs and tests. */
  reasons: string[];
  /** True when the update relinks the disk to its parent at a new path ({@link sameParentAtNewPath}). */
  relink: boolean;
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
    property: "connection",
    reason: "the disk moves to another host",
    applies: (olds, news) => isUnknown(news.connection) || hostOf(olds.connection) !== hostOf(news.connection),
    inInputs: true,
  },
  {
    property: "parentPath",
    reason: "the disk must link to another parent file, or its parent is being replaced",
    applies: (olds, news) => changedOrUnknown(olds.parentPath, news.parentPath) && !sameParentAtNewPath(olds, news),
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
    applies: (olds, news) => olds.checksum && news.checksum && checksumsDiffer(olds.parentChecksum, news.parentChecksum),
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
 * True when a recorded checksum and an observed one (both present) say the content differs. A plain recorded one
 * against an unlinked observed one is no difference: `check` gives that pair only when the file's plain SHA-256
 * still matches (observed-inputs.ts `inRecordedKind`), so it is the same content with a fact of the new kind.
 */
function checksumsDiffer(recorded: string | null | undefined, observed: string | null): boolean {
  if (recorded === null || recorded === undefined || observed === null) return false;
  if (isUnknown(observed)) return true;
  if (!isUnlinkedChecksum(recorded) && isUnlinkedChecksum(observed)) return false;
  return recorded !== observed;
}

/**
 * True when the chain above the parent differs from the recorded one: another set of disks, or one whose unique id,
 * size or checksum (when both sides have one) changed. Disks are matched by unique id, not by path: a golden image
 * moved (same bytes, a new path) is the same ancestor. Nothing recorded (older state) or observed compares equal.
 */
function ancestorsChanged(
  recorded: Record<string, AncestorFacts> | null | undefined,
  observed: Record<string, AncestorFacts> | null,
): boolean {
  if (isUnknown(observed)) return true;
  if (recorded === null || recorded === undefined || observed === null) return false;
  const then = Object.values(recorded);
  const now = Object.values(observed);
  if (then.length !== now.length) return true;
  return now.some((disk) => {
    const was = then.find((old) => old.uniqueId === disk.uniqueId);
    return was === undefined || was.size !== disk.size || checksumsDiffer(was.checksum, disk.checksum);
  });
}

/**
 * True when the observed facts say what the recorded ones say in another form, which an update records: a checksum
 * where none was recorded, an unlinked one where a plain one was, an ancestor at a new path (see the rules above).
 * Called only when no rule replaces the disk. A fact not observed (`null`), or carried over by the engine from older
 * inputs (`carriedFacts`), records nothing.
 */
function factsToRecord(olds: DiskState, news: DiskInputs, carried: ReadonlySet<keyof DiskInputs>): boolean {
  const { parentChecksum, ancestors } = news;
  const checksum =
    news.checksum &&
    !carried.has("parentChecksum") &&
    parentChecksum !== null &&
    !isUnknown(parentChecksum) &&
    parentChecksum !== olds.parentChecksum;
  const moved = !carried.has("ancestors") && ancestors !== null && olds.ancestors !== null;
  return checksum || (moved && !sameAncestorFacts(olds.ancestors as Record<string, AncestorFacts>, ancestors));
}

/** True when both say the same of the same paths, whatever the key order (the state sorts keys; fingerprints left out). */
export function sameAncestorFacts(a: Record<string, AncestorFacts>, b: Record<string, AncestorFacts>): boolean {
  const canonical = (ancestors: Record<string, AncestorFacts>): string =>
    JSON.stringify(Object.entries(ancestors).map(([diskPath, { uniqueId, size, checksum }]) => [diskPath, uniqueId, size, checksum]).sort());
  return canonical(a) === canonical(b);
}

/** What `pulumi preview --diff` shows (as the `relink` input) for a disk whose parent moved: why it is an update. */
export const RELINK_NOTE = "same parent at a new path";

/** The parent facts both a recorded state and checked inputs carry. */
type LinkFacts = Pick<DiskInputs, "parentPath" | "parentUniqueId" | "parentSize" | "parentChecksum" | "checksum" | "ancestors">;

/**
 * True when `parentPath` changed and the file now there is the same parent (`Set-VHD -ParentPath`'s case: the golden
 * image was moved, same bytes): the same unique id and size, the same SHA-256 when both sides have checksums on, the
 * same disks above it. Such a disk is relinked in place, an update that keeps its data, instead of being replaced.
 */
export function sameParentAtNewPath(recorded: Partial<LinkFacts>, news: DiskInputs): boolean {
  const { parentPath, parentUniqueId, parentSize, parentChecksum } = news;
  if (typeof recorded.parentPath !== "string" || isUnknown(parentPath) || recorded.parentPath === parentPath) return false;
  if (parentUniqueId === null || isUnknown(parentUniqueId) || parentUniqueId !== recorded.parentUniqueId) return false;
  if (parentSize === null || parentSize !== recorded.parentSize) return false;
  const checksummed = news.checksum && recorded.checksum === true && typeof recorded.parentChecksum === "string";
  if (checksummed && checksumsDiffer(recorded.parentChecksum, parentChecksum)) return false;
  return !ancestorsChanged(recorded.ancestors, news.ancestors);
}

/**
 * Settings that change in place: `update` applies them to the existing disk. `secretPaths` too: a path made secret
 * later makes its derived outputs secret with the next `up` (the id, fixed at create, follows at the next refresh).
 */
export const UPDATE_IN_PLACE: readonly (keyof DiskSettings)[] = [
  "adopt",
  "protectParent",
  "pathRules",
  "checksum",
  "secretPaths",
  // Same host (else the rule above replaces), other credentials or options: recorded, so delete can still log on.
  "connection",
];

/** Where a connection leads (user, host, port, as the SSH adapter defaults them); `""`: this machine. */
function hostOf(connection: ConnectionArgs | undefined): string {
  if (connection === undefined) return "";
  const { user = CONNECTION_DEFAULTS.user, host, port = CONNECTION_DEFAULTS.port } = connection;
  return `${user}@${host}:${port}`;
}

/** A setting's value for comparing: a connection by its fields, not by object identity. */
function comparable(value: unknown): unknown {
  return typeof value === "object" && value !== null && !isUnknown(value) ? JSON.stringify(value) : value;
}

/**
 * The diff of a recorded disk (`olds`, the state) against the checked inputs (`news`): replace when any
 * {@link REPLACE_RULES} applies (but never for a fact the engine carried over, see `carriedFacts`), update when only
 * an {@link UPDATE_IN_PLACE} setting changed, there are facts to record (a checksum where none or an older kind was
 * recorded, an ancestor at a new path), or the parent moved ({@link sameParentAtNewPath}), else nothing at all.
 */
export function planDiff(olds: DiskState, news: DiskInputs, facts: DiskFileFacts): DiskDiff {
  const carried = new Set<keyof DiskInputs>(news.carriedFacts ?? []);
  const applying = REPLACE_RULES.filter((rule) => !carried.has(rule.property) && rule.applies(olds, news, facts));
  const replaces = [...new Set(applying.map((rule) => rule.property))];
  const updatedSettings = UPDATE_IN_PLACE.filter((setting) => changedOrUnknown(comparable(olds[setting]), comparable(news[setting])));
  const recordFacts = replaces.length === 0 && factsToRecord(olds, news, carried);
  const moves = news.imagePath !== olds.imagePath && !isUnknown(news.imagePath);
  const relink = replaces.length === 0 && sameParentAtNewPath(olds, news);
  const changes = replaces.length > 0 || updatedSettings.length > 0 || recordFacts || relink;
  return {
    changes,
    changesInInputs: changes && !recordFacts && applying.every((rule) => rule.inInputs),
    replaces,
    deleteBeforeReplace: !moves && (news.parentUniqueId !== null || news.parentPath !== olds.parentPath),
    updatedSettings,
    reasons: applying.map((rule) => `${rule.property}: ${rule.reason}`),
    relink,
  };
}
