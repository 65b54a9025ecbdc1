/**
 * The shapes the provider exchanges with the Pulumi engine: the checked inputs and the recorded state (outputs).
 * Both are plain JSON; the engine may put {@link UNKNOWN} in place of any input during a preview.
 */
import type { PathRules } from "../inputs/paths";
import type { DiskKind } from "../disk/image";
import type { FileFingerprint } from "../storage/facts";
import type { AncestorObservation, Ancestors } from "../ops/observe-parent";

export type { AncestorObservation, Ancestors, ParentObservation } from "../ops/observe-parent";

/**
 * The placeholder the engine sends for a value not known yet during a preview (an output of a resource that is still
 * to be created or replaced). Equal to `pulumi.runtime.unknownValue`; spelled out here because the implementation
 * runs in the provider process and must not load `@pulumi/pulumi` for one string.
 */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** True for the engine's unknown placeholder. */
export function isUnknown(value: unknown): boolean {
  return value === UNKNOWN;
}

/** The disk type of a VHD, as the outputs spell it. */
export type DiskTypeName = DiskKind;

/** One disk above the parent as the inputs show it: the facts whose change invalidates a child. */
export type AncestorFacts = Omit<AncestorObservation, "fingerprint">;

/**
 * The observed facts as the inputs show them (observed-inputs.ts). They are inputs on purpose: the engine prints
 * changed inputs, old -> new, in `pulumi preview --diff`, so a changed parent shows up there as the one fact that
 * changed (checksum, unique id, size; for a grandchild, the ancestor's).
 */
export interface ObservedFacts {
  /** The parent's unique id; `null` when no file is at parentPath (yet). */
  parentUniqueId: string | null;
  /** The parent's file size in bytes; `null` when no file is at parentPath (yet). */
  parentSize: number | null;
  /** SHA-256 of the parent; `null` with `checksum: false` or when no file is at parentPath (yet). */
  parentChecksum: string | null;
  /** The disks above the parent, by absolute path, nearest first; `null` when no file is at parentPath (yet). */
  ancestors: Record<string, AncestorFacts> | null;
  /**
   * The facts above that the engine carried over from the last deployment's inputs (the program lists them in
   * `ignoreChanges`) instead of the observed ones; absent when none. They are never a reason to replace: those inputs
   * can be older than the disk (the engine recreates a dependent from its old inputs, e.g. under `--target`).
   */
  carriedFacts?: (keyof ObservedFacts)[];
}

/** The settings a user chooses, with their defaults filled in by `check`. */
export interface DiskSettings {
  /** Take over an existing differencing disk at `imagePath` whose parent matches, instead of failing. */
  adopt: boolean;
  /** Keep the parent read-only while this disk exists. */
  protectParent: boolean;
  /** Block size of the new disk in bytes; absent means the engine's default (2 MiB) or, when adopting, any. */
  blockSize?: number;
  /** Naming rules for both paths. */
  pathRules: PathRules;
  /** Record and compare the parent's SHA-256. */
  checksum: boolean;
  /**
   * Set by the `DifferencingDisk` class, not by users: true when `imagePath` or `parentPath` is a secret. The engine
   * strips secrets before the provider sees any input, so this is how the provider knows to return every value derived
   * from a path as a secret (secret-values.ts) and to keep the path out of the resource id.
   */
  secretPaths: boolean;
  /**
   * Set by the `DifferencingDisk` class: the resource's URN, written into the ownership record beside the disk
   * (ownership.ts). Absent in state written before ownership records.
   */
  owner?: string;
}

/** The inputs after `check`: absolute paths, defaults filled in, the parent observed. */
export interface DiskInputs extends DiskSettings, ObservedFacts {
  /** Absolute path of the child disk. */
  imagePath: string;
  /** Absolute path of the parent disk. */
  parentPath: string;
  /**
   * Set by `check` only when the parent moved and the file at the new path is the same parent: `"same parent at a new
   * path"`, so `pulumi preview --diff` says why the disk is updated (relinked), not replaced. Not a program input.
   */
  relink?: string;
}

/** The recorded state of one disk: what `create`, `update` and `read` return, and what `diff`/`delete` receive. */
export interface DiskState extends DiskSettings {
  /** Absolute path of the disk. */
  imagePath: string;
  /** Absolute path of the parent the disk is linked to (as its parent locators resolve). */
  parentPath: string;
  /** The unique id of the disk this resource created (or adopted); `delete` removes the file only if it still has it. */
  uniqueId: string;
  /**
   * The unique id of the file found at `imagePath` by the last `read`, or `null` when the file there is not a VHD at
   * all. It differs from `uniqueId` when the file was replaced (or damaged) outside Pulumi; the next preview then plans
   * a replace, and delete leaves the file alone.
   */
  foundUniqueId: string | null;
  /** Size of the virtual disk in bytes (the parent's). */
  virtualSize: number;
  /** Block size of the disk in bytes. */
  blockSize: number;
  /** The parent's unique id as recorded in the disk's header (the link Hyper-V checks). */
  parentUniqueId: string;
  /** The parent's time stamp as recorded in the disk's header, ISO 8601. */
  parentTimeStamp: string;
  /** The parent's file size in bytes when the disk was made. */
  parentSize: number;
  /** The parent's disk type. */
  parentDiskType: DiskTypeName;
  /** The parent's file fingerprint when the disk was made. */
  parentFingerprint: FileFingerprint;
  /** SHA-256 of the parent when the disk was made; `null` with `checksum: false`. */
  parentChecksum: string | null;
  /** The disks above the parent when the disk was made (`null` in state written before they were recorded). */
  ancestors: Ancestors | null;
  /** Absolute paths of every ancestor, the parent first and the base last. */
  chain: string[];
  /** Number of ancestors (`chain.length`): 1 for a child of a base disk. */
  chainDepth: number;
  /** True when the disk existed and was taken over (`adopt`), rather than written by this resource. */
  adopted: boolean;
  /** The parent's file mode before `protectParent` made it read-only, or `null` when this disk did not change it. */
  parentModeBeforeProtect: number | null;
  /** Folders `create` made for the disk (absolute, outermost first); `delete` removes them again when empty. */
  createdFolders: string[];
}
