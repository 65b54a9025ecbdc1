/**
 * Where a disk is: this machine, or the remote host of its `connection` (an SSH storage through the shared session
 * pool: one SSH connection per host for the whole run, whichever resources use it). Names that leave the provider
 * (the resource id, `chain`, the keys of `ancestors`) carry the host, `ssh://user@host:port/abs/path`, so two hosts
 * with the same paths never collide in one stack; a local disk keeps its bare path.
 */
import type { Storage } from "../storage/port";
import { localStorage } from "../storage/local/local-storage";
import type { ConnectionArgs } from "../storage/ssh/connection-args";
import { SshStorage } from "../storage/ssh/ssh-storage";
import type { Ancestors } from "../ops/observe-parent";

/** The storage holding a disk with these settings: its connection's host, else this machine. */
export function storageOf(settings: { connection?: ConnectionArgs }): Storage {
  return settings.connection === undefined ? localStorage : new SshStorage(settings.connection);
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
