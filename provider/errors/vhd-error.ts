import { ERROR_TABLE, type ErrorName, formatHresult } from "./codes";

/** Which input of `CreateDifferencingVirtualHardDisk` (or of another operation) an error is about. */
export type ErrorParameter = "imagePath" | "parentPath" | "size" | "blockSize" | "offset" | "length" | (string & {});

/** What a {@link VhdError} is built from. */
export interface VhdErrorInit {
  /** The input the error is about, when there is one. */
  parameter?: ErrorParameter;
  /**
   * The value of `parameter` as given, when that input is not the file itself (`length` 100, `type` "vhdx"). Leave it
   * out when `parameter` names the file (`imagePath`): then `path` is its value.
   */
  value?: number | string;
  /** The file or folder the error is about, as the user gave it or as it was resolved. */
  path?: string;
  /**
   * The input that named `path`, when that is not `parameter` (`length` 100 of the disk given as `path`):
   * `imagePath`, `path`, ... Default `file`, for a file no input named directly (an ancestor found through the chain).
   */
  pathParameter?: ErrorParameter;
  /** The underlying error (a Node `fs` error, a nested `VhdError`, ...). */
  cause?: unknown;
  /** Structured facts for programs: offsets, field names, expected and actual values, paths tried. */
  details?: Record<string, unknown>;
}

/**
 * Where an error is, as its message names it: the parameter with its value, then the file by the input that named
 * it: `imagePath "/vms/a.vhd"` (the parameter is the file), `length 100, path "child.vhd"` (a number given for a
 * file), `file "/vms/golden.vhd"` (a file reached through another, named by no input), or nothing.
 */
function locationOf({ parameter, value, path, pathParameter }: VhdErrorInit): string {
  const file = path === undefined ? undefined : JSON.stringify(path);
  if (parameter === undefined) return file === undefined ? "" : `${pathParameter ?? "file"} ${file}`;
  // Without a value or a naming input of its own, the file is the parameter's value.
  if (value === undefined && pathParameter === undefined) return file === undefined ? parameter : `${parameter} ${file}`;
  const given =
    value === undefined ? parameter : `${parameter} ${typeof value === "number" ? String(value) : JSON.stringify(value)}`;
  return file === undefined ? given : `${given}, ${pathParameter ?? "file"} ${file}`;
}

/**
 * The one error type of this project. Its message reads
 * `ERROR_ALREADY_EXISTS (0x800700B7): imagePath "/vms/a.vhd": <a sentence a person can act on>`, or with a
 * parameter that is not the file, `E_INVALIDARG (0x80070057): length 100, path "child.vhd": <sentence>`; its fields
 * carry the same facts for programs.
 */
export class VhdError extends Error {
  /** Symbolic name, e.g. `ERROR_PATH_NOT_FOUND`. */
  readonly code: ErrorName;
  /** The HRESULT as an unsigned 32-bit number. */
  readonly hresult: number;
  /** The HRESULT as Windows prints it, e.g. `0x80070003`. */
  readonly hresultHex: string;
  readonly parameter: ErrorParameter | undefined;
  /** The parameter's value when the parameter is not the file (see {@link VhdErrorInit.value}). */
  readonly value: number | string | undefined;
  readonly path: string | undefined;
  /** The input that named `path` when `parameter` is another one. */
  readonly pathParameter: ErrorParameter | undefined;
  readonly details: Record<string, unknown>;
  /** The sentence without the name/code/path prefix. */
  readonly reason: string;

  constructor(code: ErrorName, reason: string, init: VhdErrorInit = {}) {
    const hresult = ERROR_TABLE[code].hresult >>> 0;
    const hresultHex = formatHresult(hresult);
    const where = locationOf(init);
    super(`${code} (${hresultHex}): ${where ? `${where}: ` : ""}${reason}`, { cause: init.cause });
    this.name = "VhdError";
    this.code = code;
    this.hresult = hresult;
    this.hresultHex = hresultHex;
    this.parameter = init.parameter;
    this.value = init.value;
    this.path = init.path;
    this.pathParameter = init.pathParameter;
    this.details = init.details ?? {};
    this.reason = reason;
  }

  /**
   * The same error with its file named by `name` (e.g. a storage's `describe`, which names a remote file
   * `ssh://user@host:port/abs/path`): what the faces do once, so that no layer below needs to know where a file is.
   * Returns this error itself when the name does not change.
   */
  withPathNamed(name: (path: string) => string): VhdError {
    const path = this.path === undefined ? undefined : name(this.path);
    if (path === this.path) return this;
    const { parameter, value, pathParameter, details, cause } = this;
    return new VhdError(this.code, this.reason, { parameter, value, path, pathParameter, details, cause });
  }

  /**
   * This error as the caller's inputs are named: the input a lower layer called `from` (`path`, for the base disk
   * `vhd convert` creates at its `target`) is `to`, as the parameter and as the input naming the file. Returns this
   * error itself when neither is `from`.
   */
  withInputRenamed(from: ErrorParameter, to: ErrorParameter): VhdError {
    const renamed = (name: ErrorParameter | undefined): ErrorParameter | undefined => (name === from ? to : name);
    const [parameter, pathParameter] = [renamed(this.parameter), renamed(this.pathParameter)];
    if (parameter === this.parameter && pathParameter === this.pathParameter) return this;
    const { value, path, details, cause } = this;
    return new VhdError(this.code, this.reason, { parameter, value, path, pathParameter, details, cause });
  }

  /** A plain object for `--json` output and logs. */
  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      hresult: this.hresultHex,
      parameter: this.parameter,
      value: this.value,
      path: this.path,
      pathParameter: this.pathParameter,
      message: this.reason,
      details: this.details,
      cause: this.cause instanceof Error ? this.cause.message : this.cause,
    };
  }
}

/** True when `value` is a {@link VhdError}, optionally of the given code. Works across module copies (checks `name`). */
export function isVhdError(value: unknown, code?: ErrorName): value is VhdError {
  return (
    value instanceof Error &&
    value.name === "VhdError" &&
    (code === undefined || (value as VhdError).code === code)
  );
}

/**
 * Wraps anything thrown into a {@link VhdError}: a `VhdError` passes through unchanged, anything else becomes
 * `DISP_E_EXCEPTION` keeping the cause, as the contract asks for unexpected failures.
 */
export function asVhdError(error: unknown, init: Omit<VhdErrorInit, "cause"> = {}): VhdError {
  if (isVhdError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new VhdError("DISP_E_EXCEPTION", `unexpected failure: ${message}`, { ...init, cause: error });
}
