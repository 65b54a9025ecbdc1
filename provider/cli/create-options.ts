import type { Command } from "commander";
import type { ErrorParameter } from "../errors";
import type { PathRules } from "../inputs/paths";
import { parseSize } from "./sizes";

/** The options of the two create commands that go to the validation rules. */
export interface CreateFlags {
  blockSize?: string;
  posixPaths?: boolean;
}

/** Adds `--posix-paths`, for every command that takes a path the Windows rules apply to. */
export function withPathRulesOption(command: Command): Command {
  return command.option(
    "--posix-paths",
    "drop the Windows path rules (260 characters, * ? : < > | \" and names like CON): only for disks that never leave POSIX hosts",
  );
}

/** The path rules `--posix-paths` asks for. */
export function pathRulesFrom(options: { posixPaths?: boolean }): PathRules {
  return options.posixPaths ? "posix" : "windows";
}

/** Adds `--block-size` and `--posix-paths`, shared by `create` and `create-differencing`. */
export function withCreateOptions(command: Command): Command {
  return withPathRulesOption(command).option("--block-size <bytes>", "bytes per block: VHD 512KiB, 1MiB or 2MiB (default 2MiB); VHDX a power of two from 1MiB to 256MiB (default 2MiB for a child, 32MiB dynamic, 2MiB fixed)");
}

/** The sector-size options of `create` and `convert`, as given. */
export interface SectorSizeFlags {
  logicalSectorSize?: string;
  physicalSectorSize?: string;
}

/** Adds `--logical-sector-size` and `--physical-sector-size` (New-VHD's -LogicalSectorSizeBytes, -PhysicalSectorSizeBytes). */
export function withSectorSizeOptions(command: Command, defaults: string): Command {
  return command
    .option("--logical-sector-size <bytes>", `bytes per logical sector: VHD 512; VHDX 512 or 4096 (default ${defaults})`)
    .option("--physical-sector-size <bytes>", `bytes per physical sector: VHD 512; VHDX 512 or 4096 (default ${defaults})`);
}

/** The sector sizes given, as the ops take them; `file` is the new disk, named in errors. */
export function sectorSizeSettings(
  options: SectorSizeFlags,
  file: { path: string; parameter: ErrorParameter },
): { logicalSectorSize?: number; physicalSectorSize?: number } {
  return {
    ...(options.logicalSectorSize === undefined ? {} : { logicalSectorSize: parseSize(options.logicalSectorSize, "logicalSectorSize", { file }) }),
    ...(options.physicalSectorSize === undefined ? {} : { physicalSectorSize: parseSize(options.physicalSectorSize, "physicalSectorSize", { file }) }),
  };
}

/** The create options as the ops take them; `file` is the new disk, named in errors. */
export function createSettings(
  options: CreateFlags,
  file: { path: string; parameter: ErrorParameter },
): { blockSize?: number; pathRules: PathRules } {
  return {
    ...(options.blockSize === undefined ? {} : { blockSize: parseSize(options.blockSize, "blockSize", { file }) }),
    pathRules: pathRulesFrom(options),
  };
}
