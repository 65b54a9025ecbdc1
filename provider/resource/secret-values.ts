/**
 * Secrets in what the provider returns to the engine.
 *
 * The dynamic-provider protocol strips secrets from everything the provider receives (`acceptSecrets` is false), and
 * the engine then marks secret only the returned keys whose same-named input was secret (`annotateSecrets` in the
 * engine's provider_plugin.go). Values derived from a secret path under another key (`chain`, the keys of
 * `ancestors`, a relative `imagePath` resolved against a secret `parentPath`) would reach the state in plain text. The
 * engine does keep a secret that a provider returns in the property encoding's wire form (a check, create, read or
 * update response is read with `KeepSecrets`), so the provider marks those values itself.
 */
import { SECRET_CONNECTION_FIELDS } from "../storage/ssh/connection-args";
import { type DiskInputs, type DiskState, isUnknown } from "./state";

/** The property encoding's signature key and its value for a secret (`specialSigKey`, `specialSecretSig`). */
const SIGNATURE_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIGNATURE = "1b47061264138c4ac30d75fd1eb44270";

/** A value the engine stores as a secret. */
export interface WireSecret {
  [SIGNATURE_KEY]: typeof SECRET_SIGNATURE;
  value: unknown;
}

/** `T` with any of `keys` possibly in its secret wire form: what goes back to the engine. */
export type WithSecrets<T, K extends keyof T> = Omit<T, K> & { [P in K]: T[P] | WireSecret };

/** The keys of the inputs and of the state whose values hold a path (or a path as an object key). */
export const PATH_BEARING_KEYS = ["imagePath", "parentPath", "chain", "ancestors", "createdFolders"] as const;

type PathBearingKey = (typeof PATH_BEARING_KEYS)[number];

/** Checked inputs as the provider hands them to the engine (path-bearing values possibly secret). */
export type EngineInputs = WithSecrets<DiskInputs, Extract<keyof DiskInputs, PathBearingKey>>;

/** A recorded state as the provider hands it to the engine (path-bearing values possibly secret). */
export type EngineState = WithSecrets<DiskState, Extract<keyof DiskState, PathBearingKey>>;

/**
 * `values` with every path-bearing key present in it marked secret when `secret` is true, and the credentials of its
 * `connection` (password, privateKey, privateKeyPassword, also of its `proxy`) marked secret always: the engine marks
 * a returned key secret only when the same input was, and a program may have passed them in plain.
 * The result is meant for the engine only: the provider's own code never reads it back (it receives plain values).
 */
export function secretPathValues<T extends object>(values: T, secret: boolean): WithSecrets<T, Extract<keyof T, PathBearingKey>> {
  const marked: Record<string, unknown> = { ...(values as Record<string, unknown>) };
  if (typeof marked.connection === "object" && marked.connection !== null) marked.connection = secretCredentials(marked.connection);
  if (!secret) return marked as WithSecrets<T, Extract<keyof T, PathBearingKey>>;
  for (const key of PATH_BEARING_KEYS) {
    // An unknown (preview) stays as it is: it carries no path yet.
    if (key in marked && !isUnknown(marked[key])) marked[key] = wireSecret(marked[key]);
  }
  return marked as WithSecrets<T, Extract<keyof T, PathBearingKey>>;
}

function wireSecret(value: unknown): WireSecret {
  return { [SIGNATURE_KEY]: SECRET_SIGNATURE, value };
}

/** A connection (and its proxy) with each credential it holds in the secret wire form. */
function secretCredentials(connection: object): Record<string, unknown> {
  const marked: Record<string, unknown> = { ...(connection as Record<string, unknown>) };
  for (const field of SECRET_CONNECTION_FIELDS) {
    if (typeof marked[field] === "string") marked[field] = wireSecret(marked[field]);
  }
  if (typeof marked.proxy === "object" && marked.proxy !== null) marked.proxy = secretCredentials(marked.proxy);
  return marked;
}
