/**
 * A command's result with the paths of a remote disk named as a person reads them, `ssh://user@host:port/abs/path`
 * (the storage's `describe`), mapped once at the face so that no op or format layer needs to know where a file is.
 * The paths are found by the field names the results give them (`DiskInfo`, `VerifyReport`, `MergeDiskResult`,
 * `SetParentResult`, `ConvertResult`, the recorded parent facts); a parent locator's stored text is what the file
 * holds, not a path on the host, and stays as it is.
 */

/** Fields holding a host path, or a list of them. */
const PATH_FIELDS: ReadonlySet<string> = new Set(["path", "resolvedPath", "parentPath", "source", "target", "merged", "relinked"]);
/** Fields whose keys are host paths (a disk record's `ancestors`). */
const PATH_KEYED_FIELDS: ReadonlySet<string> = new Set(["ancestors"]);
/** Fields copied as they are. */
const VERBATIM_FIELDS: ReadonlySet<string> = new Set(["locators"]);

/** `result` with every host path in it given to `describe`; a JSON-like value (plain objects, arrays, bytes). */
export function namedOnHost<T>(result: T, describe: (path: string) => string): T {
  return rename(result, describe, undefined) as T;
}

function rename(value: unknown, describe: (path: string) => string, field: string | undefined): unknown {
  if (typeof value === "string") return field !== undefined && PATH_FIELDS.has(field) ? describe(value) : value;
  if (Array.isArray(value)) return value.map((item) => rename(item, describe, field));
  if (typeof value !== "object" || value === null || ArrayBuffer.isView(value)) return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, inner]) => [
      field !== undefined && PATH_KEYED_FIELDS.has(field) ? describe(key) : key,
      VERBATIM_FIELDS.has(key) ? inner : rename(inner, describe, key),
    ]),
  );
}
