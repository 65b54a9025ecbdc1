/**
 * Where a disk is: this machine, or the remote host of its `connection` (an SSH storage through the shared session
 * pool: one SSH connection per host for the whole run, whichever resources use it). Names that leave the provider
 * (the resource id, `chain`, the keys of `ancestors`) carry the host, `ssh://user@host:port/abs/path`, so two hosts
 * with the same paths never collide in one stack; a local disk keeps its bare path.
 */
import type { PathRules } from "../inputs/paths";
import type { PathFlavour, Storage } from "../storage/port";
import { localStorage } from "../storage/local/local-storage";
import type { ConnectionArgs } from "../storage/ssh/connection-args";
import { SshStorage } from "../storage/ssh/ssh-storage";
import { isWindowsDrivePath } from "../storage/ssh/windows-paths";
import { DEFAULT_PATH_RULES } from "./schema";
import type { Ancestors } from "../ops/observe-parent";

/** What decides where a disk is and how its host spells paths. */
export interface DiskPlace {
  connection?: ConnectionArgs | undefined;
  imagePath?: unknown;
  parentPath?: unknown;
  pathRules?: PathRules | undefined;
}

/**
 * The storage holding a disk: its connection's host, else this machine. A disk on a connection is on a Windows host
 * (Win32-OpenSSH, drive paths mapped by storage/ssh/windows-paths.ts) when {@link remoteFlavourOf} says so.
 */
export function storageOf(place: DiskPlace): Storage {
  if (place.connection === undefined) return localStorage;
  return new SshStorage(place.connection, { pathFlavour: remoteFlavourOf(place) });
}

/**
 * How the host of a disk on a connection spells paths, chosen from the paths themselves: a connection says nothing
 * about the host's OS, but a drive path (`C:\VMs\a.vhd`) can only be on Windows. So an explicit `pathRules` wins
 * (`"posix"`: POSIX paths, where a drive path is relative and refused); otherwise, under the Windows rules (the
 * default), a drive path in `imagePath` or `parentPath` makes the host a Windows one (`"win32"`: the contract's
 * Windows path rules resolve and check both paths as Windows does); anything else is a POSIX host.
 */
export function remoteFlavourOf(place: DiskPlace): PathFlavour {
  if ((place.pathRules ?? DEFAULT_PATH_RULES) === "posix") return "posix";
  const drive = [place.imagePath, place.parentPath].some((given) => typeof given === "string" && isWindowsDrivePath(given));
  return drive ? "win32" : "posix";
}

/** `ancestors` keyed by the storage's names of the paths (`Storage.describe`). */
export function ancestorsOnHost<T>(storage: Storage, ancestors: Record<string, T>): Record<string, T>;
export function ancestorsOnHost<T>(storage: Storage, ancestors: Record<string, T> | null): Record<string, T> | null;
export function ancestorsOnHost<T>(storage: Storage, ancestors: Record<string, T> | null): Record<string, T> | null {
  if (ancestors === null || storage.host === undefined) return ancestors;
  return Object.fromEntries(Object.entries(ancestors).map(([diskPath, facts]) => [storage.describe(diskPath), facts]));
}

/** A state's host-bearing outputs (`chain`, `ancestors`) named with the host. */
export function stateOnHost<S extends { chain: string[]; ancestors: Ancestors | null }>(storage: Storage, state: S): S {
  if (storage.host === undefined) return state;
  return { ...state, chain: state.chain.map((diskPath) => storage.describe(diskPath)), ancestors: ancestorsOnHost(storage, state.ancestors) };
}
