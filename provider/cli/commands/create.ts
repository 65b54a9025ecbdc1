import { Option, type Command } from "commander";
import { resolve } from "node:path";
import type { BaseDiskType, IntendedFormat } from "../../inputs/validate";
import { createBaseDisk } from "../../ops/create-base";
import { runCommand, withCommonOptions, type CommonOptions } from "../command-runner";
import { printDisk } from "../disk-description";
import { createSettings, sectorSizeSettings, withCreateOptions, withSectorSizeOptions, type CreateFlags, type SectorSizeFlags } from "../create-options";
import { parseSize } from "../sizes";

interface CreateBaseOptions extends CommonOptions, CreateFlags, SectorSizeFlags {
  size?: string;
  type: BaseDiskType;
  from?: string;
  intendedFormat: IntendedFormat;
}

/**
 * `vhd create <path> --size N [--type dynamic|fixed] [--from raw.img]`: a base disk (a golden image), empty or with a
 * raw image's bytes. Unlike `create-differencing`, whose contract has its own rule, relative paths are relative to
 * the current directory, as in `qemu-img create`.
 */
export function registerCreate(program: Command): void {
  withSectorSizeOptions(withCreateOptions(withCommonOptions(program.command("create"))), "VHDX 512 logical, 4096 physical")
    .description("create a base disk (dynamic or fixed), empty or from a raw image; .vhdx makes a VHDX, any other name a VHD")
    .argument("<path>", "the new disk (its folder is created when missing)")
    .option("--size <bytes>", "virtual size: bytes or K/M/G/T, binary (10GiB); default: the --from image's size")
    .addOption(new Option("--type <type>", "disk type").choices(["dynamic", "fixed"]).default("dynamic"))
    .option("--from <raw>", "a raw disk image whose bytes the new disk starts with")
    .addOption(
      new Option("--intended-format <format>", "the size limits to apply (Virtual PC's: FAT16 below 2000 MB, ...)")
        .choices(["unformatted", "fat16", "fat32"])
        .default("unformatted"),
    )
    .action((path: string, options: CreateBaseOptions) =>
      runCommand(options, async ({ json, signal, progress, locate, named }) => {
        const file = { path, parameter: "path" };
        const size = options.size === undefined ? undefined : parseSize(options.size, "size", { file });
        const from = options.from === undefined ? [] : [{ path: options.from, parameter: "fromRaw" }];
        const { storage, paths: [hostPath = path, hostFrom] } = await locate([{ path, parameter: "path" }, ...from]);
        const bar = progress(options.from === undefined ? "create" : "import");
        const info = await createBaseDisk({
          storage,
          path: resolve(hostPath),
          ...(size === undefined ? {} : { size }),
          type: options.type,
          ...(hostFrom === undefined ? {} : { fromRaw: resolve(hostFrom) }),
          intendedFormat: options.intendedFormat,
          ...createSettings(options, file),
          ...sectorSizeSettings(options, file),
          signal,
          onProgress: bar.update,
        });
        bar.stop();
        printDisk(named(info), json);
      }),
    );
}
