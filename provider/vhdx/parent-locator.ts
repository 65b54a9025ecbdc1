/**
 * Where a differencing VHDX's parent may be, from its parent locator (MS-VHDX §2.6.2.6.3; docs/vhdx-format.md §5): the
 * spec's order, as Hyper-V tries them, relative_path against the child's folder, then volume_path, then
 * absolute_win32_path; last the parent's file name next to the child (a chain moved as a whole). No file is touched:
 * the chain (disk/chain.ts) checks existence and the linkage id.
 */
import { dirname, join, posix, resolve } from "node:path";
import type { ParentCandidate } from "../disk/image";
import type { VhdxParentLocator } from "./reader";

/** `\\?\` (Win32 file namespace) that absolute_win32_path and volume_path start with. */
const WIN32_NAMESPACE = /^\\\\\?\\/;
/** A drive letter, UNC (also `\\?\UNC\...`) or volume GUID path: nothing on a POSIX host as it stands. */
const WINDOWS_ROOTED = /^(?:[A-Za-z]:|\\\\|\/\/|Volume\{|UNC\\)/i;

function slashed(path: string): string {
  return path.replace(/\\/g, "/");
}

/**
 * A stored absolute path on this host: a POSIX path (stored by this project on Linux as `\\?\` plus its components
 * with `\` separators; before, with the root's `\` too: `\\?\\tmp\...`) comes back as it was; a Windows one
 * (`C:\...`, UNC, `Volume{GUID}\...`) cannot be mapped here and gives no candidate (its file name is tried next to
 * the child anyway). A path without the prefix must start at the root.
 */
function hostAbsolutePath(stored: string): string | null {
  const prefixed = WIN32_NAMESPACE.test(stored);
  const path = stored.replace(WIN32_NAMESPACE, "");
  if (WINDOWS_ROOTED.test(path)) return null;
  const posixPath = slashed(path);
  if (posixPath.startsWith("/")) return posixPath;
  return prefixed && posixPath !== "" ? `/${posixPath}` : null;
}

/**
 * The parent paths to try, in order, each once, with the locator keys that named it.
 * @param childPath the child's path (made absolute here).
 */
export function vhdxParentCandidates(childPath: string, locator: VhdxParentLocator): ParentCandidate[] {
  const childFolder = dirname(resolve(childPath));
  const candidates: ParentCandidate[] = [];
  const add = (path: string | null, source: string): void => {
    if (path === null) return;
    const existing = candidates.find((candidate) => candidate.path === path);
    if (existing === undefined) candidates.push({ path, source });
    else if (!existing.source.split(", ").includes(source)) existing.source = `${existing.source}, ${source}`;
  };
  const { relativePath, volumePath, absoluteWin32Path } = locator;
  if (relativePath !== undefined && relativePath !== "" && !WINDOWS_ROOTED.test(relativePath)) {
    add(resolve(childFolder, slashed(relativePath)), "relative_path");
  }
  if (volumePath !== undefined) add(hostAbsolutePath(volumePath), "volume_path");
  if (absoluteWin32Path !== undefined) add(hostAbsolutePath(absoluteWin32Path), "absolute_win32_path");
  for (const [stored, source] of [
    [relativePath, "relative_path"],
    [absoluteWin32Path, "absolute_win32_path"],
    [volumePath, "volume_path"],
  ] as const) {
    const name = stored === undefined ? "" : posix.basename(slashed(stored));
    if (name !== "" && name !== "." && name !== "..") add(join(childFolder, name), `${source} file name`);
  }
  return candidates;
}
