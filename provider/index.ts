/**
 * `pulumi-vhd`: differencing VHD 1.0 disks. The public surface, re-exports only:
 * - the Pulumi resource `DifferencingDisk` and its argument/output types;
 * - the operations the `vhd` CLI uses (create a differencing or base disk, delete one we made, inspect, verify,
 *   checksum);
 * - the one error type `VhdError` and the error table.
 */
export {
  DifferencingDisk,
  type DifferencingDiskArgs,
  type DifferencingDiskOutputs,
} from "./resource/differencing-disk";
export type { FileFingerprint } from "./storage/facts";
export type { AncestorObservation, Ancestors, DiskTypeName } from "./resource/state";

export { createDifferencingDisk, type CreateDifferencingDiskArgs } from "./ops/create-differencing";
export { createBaseDisk, type CreateBaseDiskArgs } from "./ops/create-base";
export { deleteDisk, type DeleteDiskArgs, type DeleteDiskResult } from "./ops/delete-disk";
export { inspectDisk, type DiskInfo } from "./disk/inspect";
export { verifyDisk, type VerifyReport } from "./vhd/verify";
export { openChain, type DiskChain } from "./disk/chain";
export { sha256File, type Sha256Options, type Sha256Result } from "./sha256/sha256";
export { resolveDiskPaths, type PathRules } from "./inputs/paths";

export {
  ERROR_TABLE,
  ERROR_NAMES,
  type ErrorName,
  formatHresult,
  VhdError,
  type VhdErrorInit,
  isVhdError,
  asVhdError,
} from "./errors";
