/**
 * Where a differencing disk's parent may be, from what the child records: its parent locators and parent unicode
 * name. The order follows docs/vhd-format.md §4: W2ru against the child's folder, then W2ku, then MacX, then the parent
 * name. Deprecated single-byte Wi2r/Wi2k locators are tried along with their UTF-16 twins.
 *
 * The parent name is a file name (qemu, blktap), Hyper-V's absolute Windows path, or, from producers that write no
 * locator at all (Xen Orchestra's vhd-lib), a path relative to the child's folder (`../base/parent.vhd`); libvhdi
 * resolves that one against the child's folder, and so does this module. Any name is also tried by its file name next
 * to the child, the last resort for a chain moved as a whole.
 */
import { dirname, isAbsolute, join, posix, resolve } from "node:path";
import { PLATFORM_CODE } from "../format";
import type { ParentCandidate } from "../../disk/image";
import type { ParentLocator } from "./reader";

/** Windows drive (`C:\`, `C:/`) or UNC (`\\server\share`) path, which means nothing on a POSIX host as it stands. */
const WINDOWS_ROOTED = /^(?:[A-Za-z]:|\/\/|\\\\)/;

function baseNameOfAnyPath(path: string): string {
  return posix.basename(path.replace(/\\/g, "/"));
}

/** A Windows-style locator path as a path on this host. */
function hostPathOf(stored: string, childFolder: string, absoluteLocator: boolean): string {
  if (WINDOWS_ROOTED.test(stored)) return join(childFolder, baseNameOfAnyPath(stored));
  const slashed = stored.replace(/\\/g, "/");
  // An absolute POSIX path stored with `\` separators (blktap, and our writer on Linux) comes back as it was.
  if (absoluteLocator && slashed.startsWith("/")) return slashed;
  return resolve(childFolder, slashed);
}

/**
 * Where the parent unicode name points: a relative name against the child's folder; an absolute one as it stands
 * (POSIX). Either way, last, its file name next to the child: where the not-found error tells the user to put the
 * parent, and where libvhdi's vhdimount looks for a name with `\` separators (`..\base\parent.vhd`).
 */
function parentNamePaths(parentUnicodeName: string, childFolder: string): string[] {
  const slashed = parentUnicodeName.replace(/\\/g, "/");
  const name = baseNameOfAnyPath(parentUnicodeName);
  if (name === "" || name === "." || name === "..") return [];
  if (WINDOWS_ROOTED.test(parentUnicodeName)) return [join(childFolder, name)];
  const asRecorded = slashed.startsWith("/") ? slashed : resolve(childFolder, slashed);
  return [asRecorded, join(childFolder, name)];
}

const ORDER: readonly { codes: readonly string[]; absolute: boolean }[] = [
  { codes: [PLATFORM_CODE.W2ru, PLATFORM_CODE.Wi2r], absolute: false },
  { codes: [PLATFORM_CODE.W2ku, PLATFORM_CODE.Wi2k], absolute: true },
  { codes: [PLATFORM_CODE.MacX], absolute: true },
];

/**
 * The parent paths to try, in order, each once. `childPath` is the child's path (made absolute here);
 * `parentUnicodeName` and `locators` are what the child records. No file is touched: the chain checks existence and
 * identity.
 */
export function parentCandidates(
  childPath: string,
  parentUnicodeName: string,
  locators: readonly ParentLocator[],
): ParentCandidate[] {
  const childFolder = dirname(resolve(childPath));
  const candidates: ParentCandidate[] = [];
  // Several records often name the same file (Hyper-V's W2ku, W2ru and name all do): try it once, say who named it.
  const add = (path: string, source: string): void => {
    const existing = candidates.find((candidate) => candidate.path === path);
    if (existing === undefined) candidates.push({ path, source });
    else if (!existing.source.split(", ").includes(source)) existing.source = `${existing.source}, ${source}`;
  };
  for (const { codes, absolute } of ORDER) {
    for (const locator of locators) {
      const code = locator.entry.platformCode;
      if (!codes.includes(code) || locator.path === null || locator.path === "") continue;
      const path =
        code === PLATFORM_CODE.MacX
          ? isAbsolute(locator.path)
            ? locator.path
            : resolve(childFolder, locator.path)
          : hostPathOf(locator.path, childFolder, absolute);
      add(path, code);
    }
  }
  for (const path of parentNamePaths(parentUnicodeName, childFolder)) add(path, "parentUnicodeName");
  return candidates;
}
