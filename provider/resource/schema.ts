/**
 * The one table of the resource's fields: for each input and state key, whether it is an input (and of which kind),
 * whether the state records it (as given or as found), whether a program sees it as an output, and its default.
 * The output keys the class seeds, the settings a state records, the inputs a state stands for and the defaults of
 * old state all derive from it; the compiler keeps it complete against `DiskInputs` and `DiskState` (state.ts), whose
 * docstrings describe each field.
 *
 * Loaded by the program as well as the provider (differencing-disk.ts), so it imports types only.
 */
import type { DiskInputs, DiskSettings, DiskState } from "./state";

/** Every key of the inputs after `check` and of the recorded state. */
export type FieldName = keyof DiskInputs | keyof DiskState;

/** How one field travels. */
export interface FieldSpec<T> {
  /**
   * As an input: `"path"` (imagePath, parentPath), `"setting"` (chosen by the user or set by the class, defaults filled
   * by `check`), `"observed"` (the parent observation `check` adds, shown by `preview --diff`), `"plan"` (a note `check`
   * adds for the plan only); absent: not an input.
   */
  input?: "path" | "setting" | "observed" | "plan";
  /** In the state: `"given"` (as the inputs say), `"found"` (read or observed on the files); absent: not recorded. */
  state?: "given" | "found";
  /** Seeded as an output of the class, so the program can read it (a dynamic resource exposes only declared keys). */
  output: boolean;
  /** The value for a setting not given, and for state written before the field existed. */
  default?: T;
}

type FieldValue<K extends FieldName> = K extends keyof DiskState ? DiskState[K] : K extends keyof DiskInputs ? DiskInputs[K] : never;

/** The table. Adding a field to `DiskInputs` or `DiskState` without a row here does not compile. */
export const DISK_FIELDS: { readonly [K in FieldName]-?: FieldSpec<FieldValue<K>> } = {
  imagePath: { input: "path", state: "given", output: true },
  parentPath: { input: "path", state: "found", output: true },
  adopt: { input: "setting", state: "given", output: true, default: false },
  protectParent: { input: "setting", state: "given", output: true, default: false },
  // The state holds the disk's real block size, read from the disk; absent in the inputs means the engine's default.
  blockSize: { input: "setting", state: "found", output: true },
  pathRules: { input: "setting", state: "given", output: true, default: "windows" },
  checksum: { input: "setting", state: "given", output: true, default: true },
  secretPaths: { input: "setting", state: "given", output: false, default: false },
  owner: { input: "setting", state: "given", output: false },
  parentUniqueId: { input: "observed", state: "found", output: true },
  parentSize: { input: "observed", state: "found", output: true },
  parentChecksum: { input: "observed", state: "found", output: true, default: null },
  ancestors: { input: "observed", state: "found", output: true, default: null },
  carriedFacts: { input: "observed", output: false },
  relink: { input: "plan", output: false },
  uniqueId: { state: "found", output: true },
  foundUniqueId: { state: "found", output: true },
  virtualSize: { state: "found", output: true },
  parentTimeStamp: { state: "found", output: true },
  parentDiskType: { state: "found", output: true },
  parentFingerprint: { state: "found", output: true },
  chain: { state: "found", output: true, default: [] },
  chainDepth: { state: "found", output: true, default: 0 },
  adopted: { state: "found", output: true, default: false },
  parentModeBeforeProtect: { state: "found", output: true, default: null },
  createdFolders: { state: "found", output: true, default: [] },
};

const FIELD_NAMES = Object.keys(DISK_FIELDS) as FieldName[];

/** The keys a program sees as outputs of a `DifferencingDisk`. */
export const OUTPUT_KEYS = FIELD_NAMES.filter((key) => DISK_FIELDS[key].output) as readonly (keyof DiskState)[];

/** The settings a state records as the user gave them (every setting but `blockSize`, which is read from the disk). */
export type RecordedSettings = Omit<DiskSettings, "blockSize">;

/** The keys of {@link RecordedSettings}. */
export const RECORDED_SETTING_KEYS = FIELD_NAMES.filter(
  (key) => DISK_FIELDS[key].input === "setting" && DISK_FIELDS[key].state === "given",
) as readonly (keyof RecordedSettings)[];

/** The keys of the inputs' paths. */
export const PATH_KEYS = FIELD_NAMES.filter((key) => DISK_FIELDS[key].input === "path") as readonly ("imagePath" | "parentPath")[];

/**
 * The default of every state field that has one (old state lacks the newer fields); fresh copies on each call, so no
 * two states share a default array.
 */
export function stateDefaults(): Partial<DiskState> {
  return structuredClone(STATE_DEFAULTS);
}

const STATE_DEFAULTS: Partial<DiskState> = Object.fromEntries(
  FIELD_NAMES.filter((key) => DISK_FIELDS[key].state !== undefined && DISK_FIELDS[key].default !== undefined).map((key) => [
    key,
    DISK_FIELDS[key].default,
  ]),
);

/** The settings that are true or false, with their defaults. */
export const BOOLEAN_SETTING_DEFAULTS = Object.fromEntries(
  FIELD_NAMES.filter((key) => DISK_FIELDS[key].input === "setting" && typeof DISK_FIELDS[key].default === "boolean").map(
    (key) => [key, DISK_FIELDS[key].default],
  ),
) as Readonly<Pick<DiskSettings, "adopt" | "protectParent" | "checksum" | "secretPaths">>;

/** The default naming rules. */
export const DEFAULT_PATH_RULES = DISK_FIELDS.pathRules.default as DiskSettings["pathRules"];

/** The fields of `source` among `keys`, those `source` has (an optional field absent stays absent). */
export function pickFields<T extends object, K extends keyof T>(source: T, keys: readonly K[]): Pick<T, K> {
  return Object.fromEntries(keys.filter((key) => source[key] !== undefined).map((key) => [key, source[key]])) as Pick<T, K>;
}
