/**
 * How a provider method fails so that the stack's diagnostics show one clean line.
 *
 * The dynamic-provider server (`@pulumi/pulumi/cmd/dynamic-provider`) answers a failed `check`, `diff`, `read` or
 * `delete` by printing `${error}: ${error.stack}` on the provider's stderr, which the engine shows in the stack's
 * diagnostics, stack frames and all; `create` and `update` send only the message. A {@link ProviderFailure} prints as
 * `pulumi-vhd: <the VhdError's message>` there, and its message is the VhdError's, for the engine's error line.
 */
import { type VhdError, asVhdError } from "../errors";
import type { Storage } from "../storage/port";

/** A provider method's error: the VhdError's one-line message, with no stack frames. */
export class ProviderFailure extends Error {
  constructor(readonly error: VhdError) {
    super(error.message, { cause: error });
    this.name = "pulumi-vhd";
    // What the server prints after `${error}: `: the message, not frames into provider/ops.
    this.stack = error.message;
  }

  override toString(): string {
    return this.name;
  }
}

/**
 * Runs a provider method; anything it throws becomes a {@link ProviderFailure} (unexpected errors as
 * `DISP_E_EXCEPTION`), its file named as `storage` names it (`ssh://user@host:port/abs/path` for a remote disk).
 */
export async function reportingFailures<T>(storage: Storage, method: () => Promise<T>): Promise<T> {
  try {
    return await method();
  } catch (error) {
    throw error instanceof ProviderFailure ? error : new ProviderFailure(namedOn(storage, error));
  }
}

/** Anything thrown as a {@link VhdError} whose file is named as `storage` names it, as every provider error is. */
export function namedOn(storage: Storage, error: unknown): VhdError {
  return asVhdError(error).withPathNamed((path) => storage.describe(path));
}
