import { resolve } from "node:path";
import { Option, type Command } from "commander";
import type { BaseDiskType } from "../../inputs/validate";
import { convertDisk, type ConvertFormat } from "../../ops/convert-disk";
import { CACHE_MODES, type CacheMode } from "../../storage/atomic-create";
import { runCommand, withCommonOptions, type CommonOptions } from "../command-runner";
import { printFields, printJson } from "../output";
import { sectorSizeSettings, withSectorSizeOptions, type SectorSizeFlags } from "../create-options";
import { formatByteCount, parseSize } from "../sizes";

interface ConvertOptions extends CommonOptions, SectorSizeFlags {
  format?: ConvertFormat;
  blockSize?: string;
  type: BaseDiskType;
  cache: CacheMode;
}

/**
 * `vhd convert <src> <dst>`: a VHD, VHDX (a differencing one read through its chain) or raw image into a new VHD,
 * VHDX or raw image, keeping sparseness, as Convert-VHD and `qemu-img convert` do (ops/convert-disk.ts).
 */
export function registerConvert(program: Command): void {
  withSectorSizeOptions(withCommonOptions(program.command("convert")), "the source disk's; from raw 512 logical, 4096 physical")
    .description("convert between VHD, VHDX and raw (sparse; a chain is composed; the source is only read)")
    .argument("<src>", "the disk or raw image to read")
    .argument("<dst>", "the new file: .vhd, .vhdx, or anything else for raw")
    .addOption(new Option("--format <format>", "the target format (default: by the dst extension)").choices(["vhd", "vhdx", "raw"]))
    .addOption(new Option("--type <type>", "a VHD or VHDX target's type").choices(["dynamic", "fixed"]).default("dynamic"))
    .option("--block-size <bytes>", "a VHD or VHDX target's block size (default as create: VHD 2MiB; VHDX 32MiB dynamic, 2MiB fixed)")
    .addOption(
      new Option(
        "-t, --cache <mode>",
        "as qemu-img convert -t: writeback syncs the target before publishing it (a power loss after vhd convert returns " +
          "cannot tear it); unsafe (qemu-img's default) leaves the writing back to the kernel: a power loss in the next " +
          "half minute may leave the published target with stale or zero data. Either way a failed or cancelled convert leaves nothing",
      )
        .choices(CACHE_MODES)
        .default("writeback"),
    )
    .action((src: string, dst: string, options: ConvertOptions) =>
      runCommand(options, async ({ json, signal, progress, locate, named }) => {
        const target = { path: dst, parameter: "target" };
        const blockSize = options.blockSize === undefined ? undefined : parseSize(options.blockSize, "blockSize", { file: target });
        const { storage, paths: [hostSrc = src, hostDst = dst] } = await locate([{ path: src, parameter: "source" }, target]);
        const bar = progress("convert");
        const result = named(await convertDisk({
          source: resolve(hostSrc),
          target: resolve(hostDst),
          ...(options.format === undefined ? {} : { format: options.format }),
          type: options.type,
          ...(blockSize === undefined ? {} : { blockSize }),
          ...sectorSizeSettings(options, target),
          cache: options.cache,
          storage,
          signal,
          onProgress: bar.update,
        }));
        bar.stop();
        if (json) printJson(result);
        else {
          printFields([
            ["source", result.source],
            ["image", result.target],
            ["format", result.format],
            ["virtual size", formatByteCount(result.virtualSize)],
            ["file size", formatByteCount(result.fileSize)],
          ]);
        }
      }),
    );
}
