/**
 * The path rules of `CreateDifferencingVirtualHardDisk` (docs/contract.md, "Path rules" and the error table): which inputs
 * may be relative, what they are relative to, and the Windows naming rules a VHD's path must obey because the disks
 * are consumed by Windows hypervisors.
 */
import * as nodePath from "node:path";
import { VhdError, type ErrorParameter } from "../errors";
import type { PathFlavour } from "../storage/port";

/**
 * Which naming rules apply to paths.
 * - `"windows"` (the default, on every OS): paths must be shorter than 260 characters and name components must not
 *   contain `* ? : < > | "`, control characters, a trailing dot or space, or a reserved device name such as `CON`.
 * - `"posix"`: those Windows-only rules are off, for disks that will never leave a POSIX host. The choice is explicit:
 *   nothing turns the Windows rules off silently.
 */
export type PathRules = "windows" | "posix";

/** The two path inputs as a caller gives them; either may be relative, but not both. */
export interface DiskPathsInput {
  /** Path of the new disk image file. */
  imagePath?: string | null;
  /** Path of the parent disk image file. */
  parentPath?: string | null;
}

/** Both paths absolute and normalised. */
export interface ResolvedDiskPaths {
  imagePath: string;
  parentPath: string;
}

/** Options shared by every path check. */
export interface PathRuleOptions {
  /** `"windows"` (default) or `"posix"`; see {@link PathRules}. */
  pathRules?: PathRules;
  /**
   * How the host holding the files spells paths (`Storage.pathFlavour`): `"win32"` resolves drive paths
   * (`C:\VMs\a.vhd`, either slash) as Windows does, on any OS. Default: this machine's.
   */
  flavour?: PathFlavour;
}

/** Windows' MAX_PATH counts the terminating NUL, so a usable path has at most 259 characters (docs/contract.md). */
export const MAX_PATH_LENGTH = 259;

/**
 * Characters Windows refuses in a name component (Microsoft, "Naming Files, Paths, and Namespaces"). On a POSIX host
 * a backslash is an ordinary character, but Windows would read it as a separator, so it is refused too.
 */
const WINDOWS_INVALID_CHARACTERS = /[*?:<>|"\u0000-\u001f]/u;
const POSIX_HOST_EXTRA_INVALID = /\\/u;

/**
 * Device names Windows reserves in every folder, also with an extension (`NUL.vhd`) and before trailing spaces
 * (Microsoft, "Naming Files, Paths, and Namespaces": CON, PRN, AUX, NUL, COM0-9, LPT0-9 and the superscript digits
 * ¹²³ that Windows also treats as COM/LPT ports).
 */
const RESERVED_DEVICE_NAME = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])$/iu;

/** The advice that ends every Windows-rule refusal (the option is `pathRules`; the CLI and resource expose it). */
const POSIX_OPT_OUT = 'choose POSIX path rules (pathRules "posix") if this disk never goes to a Windows host';

/** The flavour of the host holding the files: the option, else this machine's. */
function flavourOf(options: PathRuleOptions): PathFlavour {
  return options.flavour ?? (process.platform === "win32" ? "win32" : "posix");
}

/** Node's path functions for the host's flavour. */
function pathsFor(options: PathRuleOptions): nodePath.PlatformPath {
  return flavourOf(options) === "win32" ? nodePath.win32 : nodePath.posix;
}

/** Separators of the host: Windows accepts both slashes, POSIX only `/`. */
function separatorsFor(options: PathRuleOptions): RegExp {
  return flavourOf(options) === "win32" ? /[\\/]/u : /\//u;
}

/**
 * True when `a` and `b` name the same path the way the host OS compares them: case-insensitively on Windows,
 * exactly elsewhere. Both should be resolved first (see {@link resolveDiskPaths}).
 */
export function pathsEqual(a: string, b: string, platform: NodeJS.Platform = process.platform): boolean {
  return platform === "win32" ? a.toLowerCase() === b.toLowerCase() : a === b;
}

/**
 * Resolves `imagePath` and `parentPath` as the contract says: at least one must be absolute; a relative one is
 * resolved against the folder of the other; both come back normalised. Then applies the naming rules of `pathRules`.
 *
 * Decisions the table leaves open:
 * - a missing input (`undefined`/`null`) is `E_POINTER`; when neither input is absolute (empty or relative) it is
 *   `ERROR_BAD_PATHNAME`, the table's own row for "both empty or relative"; one empty input beside an absolute one is
 *   `E_POINTER` (a value is required there);
 * - a path ending in a separator names a folder, not a file: `ERROR_INVALID_NAME`;
 * - under Windows rules a component ending in a dot or a space is refused (`ERROR_INVALID_NAME`) instead of being
 *   stripped the way Win32 does, because stripping would make the file on disk differ from the name recorded.
 *
 * @throws VhdError `E_POINTER`, `E_INVALIDARG` (not a string), `ERROR_BAD_PATHNAME`, `ERROR_INVALID_NAME`,
 *   `ERROR_BUFFER_OVERFLOW`.
 */
export function resolveDiskPaths(input: DiskPathsInput, options: PathRuleOptions = {}): ResolvedDiskPaths {
  const path = pathsFor(options);
  const imagePath = requirePresent(input.imagePath, "imagePath");
  const parentPath = requirePresent(input.parentPath, "parentPath");
  const imageAbsolute = imagePath !== "" && path.isAbsolute(imagePath);
  const parentAbsolute = parentPath !== "" && path.isAbsolute(parentPath);
  if (!imageAbsolute && !parentAbsolute) {
    throw new VhdError(
      "ERROR_BAD_PATHNAME",
      `both paths are empty or relative (imagePath ${JSON.stringify(imagePath)}, ` +
        `parentPath ${JSON.stringify(parentPath)}); give at least one of them as an absolute path`,
      { parameter: "imagePath", path: imagePath, details: { imagePath, parentPath } },
    );
  }
  requireNonEmpty(imagePath, "imagePath");
  requireNonEmpty(parentPath, "parentPath");
  checkName(imagePath, "imagePath", options);
  checkName(parentPath, "parentPath", options);

  const resolved = {
    imagePath: imageAbsolute ? path.resolve(imagePath) : resolveBeside(path, parentPath, imagePath),
    parentPath: parentAbsolute ? path.resolve(parentPath) : resolveBeside(path, imagePath, parentPath),
  };
  checkLength(resolved.imagePath, "imagePath", options);
  checkLength(resolved.parentPath, "parentPath", options);
  return resolved;
}

/**
 * Resolves and checks one path that stands alone (a base image's path, a raw source): it must be absolute, and obeys
 * the same naming rules as {@link resolveDiskPaths}.
 *
 * @throws VhdError `E_POINTER`, `E_INVALIDARG`, `ERROR_BAD_PATHNAME` (relative), `ERROR_INVALID_NAME`,
 *   `ERROR_BUFFER_OVERFLOW`.
 */
export function resolveSinglePath(
  value: string | null | undefined,
  parameter: ErrorParameter,
  options: PathRuleOptions = {},
): string {
  const path = pathsFor(options);
  const given = requirePresent(value, parameter);
  requireNonEmpty(given, parameter);
  if (!path.isAbsolute(given)) {
    throw new VhdError("ERROR_BAD_PATHNAME", "the path is relative; give an absolute path", { parameter, path: given });
  }
  checkName(given, parameter, options);
  const resolved = path.resolve(given);
  checkLength(resolved, parameter, options);
  return resolved;
}

/** True for Windows rules; an unknown value is refused rather than read as either (the choice is never silent). */
function windowsRules(options: PathRuleOptions): boolean {
  const rules = options.pathRules ?? "windows";
  if (rules !== "windows" && rules !== "posix") {
    throw new VhdError("E_INVALIDARG", `pathRules must be "windows" or "posix", not ${JSON.stringify(rules)}`, {
      parameter: "pathRules",
    });
  }
  return rules === "windows";
}

function requirePresent(value: unknown, parameter: ErrorParameter): string {
  if (value === undefined || value === null) {
    throw new VhdError("E_POINTER", `${parameter} is missing; give the path of the disk image file`, { parameter });
  }
  if (typeof value !== "string") {
    throw new VhdError("E_INVALIDARG", `${parameter} must be a string, not ${typeof value}`, { parameter });
  }
  return value;
}

function requireNonEmpty(value: string, parameter: ErrorParameter): void {
  if (value === "") {
    throw new VhdError("E_POINTER", `${parameter} is empty; give the path of the disk image file`, {
      parameter,
      path: value,
    });
  }
}

/** A relative `target` is relative to the folder of `anchor` (docs/contract.md, Remarks). */
function resolveBeside(path: nodePath.PlatformPath, anchor: string, target: string): string {
  return path.resolve(path.dirname(path.resolve(anchor)), target);
}

function checkName(given: string, parameter: ErrorParameter, options: PathRuleOptions): void {
  const windowsHost = flavourOf(options) === "win32";
  if (separatorsFor(options).test(given.slice(-1))) {
    throw new VhdError("ERROR_INVALID_NAME", "the path ends in a separator, so it names a folder; name the disk file", {
      parameter,
      path: given,
    });
  }
  if (given.includes("\u0000")) {
    throw new VhdError("ERROR_INVALID_NAME", "the path contains a NUL character", { parameter, path: given });
  }
  if (parameter === "parentPath" && !windowsHost && given.includes("\\")) {
    // A child records its parent only as Windows paths (W2ku, W2ru, the parent unicode name), where a backslash
    // separates folders, so no reader could find this parent again, whatever the path rules.
    throw new VhdError(
      "ERROR_INVALID_NAME",
      "the path contains a backslash; a differencing disk records its parent as Windows paths, where a backslash " +
        "separates folders, so the child could never find this parent again; rename the parent or its folder",
      { parameter, path: given },
    );
  }
  if (!windowsRules(options)) return;
  for (const component of nameComponents(given, options)) {
    const problem = windowsNameProblem(component, windowsHost);
    if (problem !== undefined) {
      throw new VhdError(
        "ERROR_INVALID_NAME",
        `the name ${JSON.stringify(component)} ${problem}; rename it, or ${POSIX_OPT_OUT}`,
        { parameter, path: given, details: { component } },
      );
    }
  }
}

/** The name components of a path, without its root (`/`, `C:\`, `\\server\share\`) and without `.`/`..`. */
function nameComponents(given: string, options: PathRuleOptions): string[] {
  const root = pathsFor(options).parse(given).root;
  return given
    .slice(root.length)
    .split(separatorsFor(options))
    .filter((component) => component !== "" && component !== "." && component !== "..");
}

/** Why Windows would refuse `component` as a file or folder name, or undefined when it is fine. */
function windowsNameProblem(component: string, windowsHost: boolean): string | undefined {
  const invalid = WINDOWS_INVALID_CHARACTERS.exec(component);
  if (invalid !== null) return `contains ${describeCharacter(invalid[0])}, which Windows does not allow in a name`;
  if (!windowsHost && POSIX_HOST_EXTRA_INVALID.test(component)) {
    return "contains a backslash, which Windows reads as a folder separator; use / between folders";
  }
  if (/[. ]$/u.test(component)) return "ends in a dot or a space, which Windows strips from names";
  const stem = component.split(".")[0]?.trimEnd() ?? "";
  if (RESERVED_DEVICE_NAME.test(stem)) return `is the reserved Windows device name ${stem.toUpperCase()}`;
  return undefined;
}

function describeCharacter(character: string): string {
  const code = character.codePointAt(0) ?? 0;
  return code < 0x20 ? `the control character U+${code.toString(16).toUpperCase().padStart(4, "0")}` : `"${character}"`;
}

function checkLength(resolved: string, parameter: ErrorParameter, options: PathRuleOptions): void {
  if (!windowsRules(options)) return;
  if (resolved.length > MAX_PATH_LENGTH) {
    throw new VhdError(
      "ERROR_BUFFER_OVERFLOW",
      `the resolved path has ${resolved.length} characters; Windows allows at most ${MAX_PATH_LENGTH}. ` +
        `Choose a shorter path, or ${POSIX_OPT_OUT}`,
      { parameter, path: resolved, details: { length: resolved.length, maxLength: MAX_PATH_LENGTH } },
    );
  }
}
