/**
 * Reads the user's settings from raw inputs (any JSON the program sent), fills the defaults, and names every value of
 * the wrong type. An unknown value (preview) passes through untouched: it is checked again when it is known.
 */
import { VhdError } from "../errors";
import type { PathRules } from "../inputs/paths";
import {
  BOOLEAN_SETTING_DEFAULTS,
  DEFAULT_PATH_RULES,
  RECORDED_SETTING_KEYS,
  type RecordedSettings,
  pickFields,
} from "./schema";
import { type DiskInputs, type DiskSettings, isUnknown } from "./state";

const PATH_RULES: readonly PathRules[] = ["windows", "posix"];

/** The settings, or the errors found (one per wrong input). */
export type SettingsResult = { settings: DiskSettings; errors: [] } | { settings?: undefined; errors: VhdError[] };

/** Raw inputs as the engine sends them: any JSON values (or the unknown placeholder) under the input names. */
export type RawInputs = Partial<Record<keyof DiskInputs, unknown>>;

/** Reads `adopt`, `protectParent`, `checksum`, `pathRules`, `blockSize` and the class's `secretPaths` and `owner`. */
export function readSettings(raw: RawInputs): SettingsResult {
  const errors: VhdError[] = [];
  const imagePath = typeof raw.imagePath === "string" ? raw.imagePath : undefined;
  const wrong = (parameter: keyof RawInputs, expected: string): void => {
    const given = raw[parameter];
    const value = typeof given === "number" || typeof given === "string" ? given : JSON.stringify(given);
    errors.push(
      new VhdError("E_INVALIDARG", `${parameter} must be ${expected}, not ${JSON.stringify(given)}`, {
        parameter,
        value,
        path: imagePath,
        pathParameter: "imagePath",
      }),
    );
  };
  const booleans: Record<keyof typeof BOOLEAN_SETTING_DEFAULTS, boolean> = { ...BOOLEAN_SETTING_DEFAULTS };
  for (const key of Object.keys(BOOLEAN_SETTING_DEFAULTS) as (keyof typeof BOOLEAN_SETTING_DEFAULTS)[]) {
    const value = raw[key];
    if (value === undefined || value === null) continue;
    if (typeof value === "boolean" || isUnknown(value)) booleans[key] = value as boolean;
    else wrong(key, "true or false");
  }
  const pathRules = raw.pathRules ?? DEFAULT_PATH_RULES;
  if (!isUnknown(pathRules) && !PATH_RULES.includes(pathRules as PathRules)) wrong("pathRules", '"windows" or "posix"');
  const blockSize = raw.blockSize ?? undefined;
  if (blockSize !== undefined && !isUnknown(blockSize) && !(Number.isSafeInteger(blockSize) && (blockSize as number) > 0)) {
    wrong("blockSize", "a positive whole number of bytes");
  }
  const owner = raw.owner ?? undefined;
  if (owner !== undefined && !isUnknown(owner) && typeof owner !== "string") wrong("owner", "a resource URN");
  if (errors.length > 0) return { errors };
  const settings: DiskSettings = { ...booleans, pathRules: pathRules as PathRules };
  if (blockSize !== undefined) settings.blockSize = blockSize as number;
  if (typeof owner === "string") settings.owner = owner;
  return { settings, errors: [] };
}

/**
 * The settings a state records as the user gave them. `blockSize` is not among them: the state holds the disk's real
 * block size, read from the disk.
 */
export function recordedSettings(inputs: DiskSettings): RecordedSettings {
  return pickFields(inputs, RECORDED_SETTING_KEYS);
}
