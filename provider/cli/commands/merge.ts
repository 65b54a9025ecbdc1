import type { Command } from "commander";
import { mergeDisk } from "../../ops/merge-disk";
import { runCommand, withCommonOptions, type CommonOptions } from "../command-runner";
import { pathRulesFrom, withPathRulesOption } from "../create-options";
import { describeDisk } from "../disk-description";
import { printFields, printJson } from "../output";
import { formatByteCount } from "../sizes";

interface MergeOptions extends CommonOptions {
  into?: string;
  relink?: string[];
  posixPaths?: boolean;
}

/**
 * `vhd merge <child> [--into <ancestor>]`: `Merge-VHD -Path child -DestinationPath ancestor` (`qemu-img commit`). The
 * ancestor ends up reading as the child did; the child and the disks between them are deleted.
 */
export function registerMerge(program: Command): void {
  withPathRulesOption(withCommonOptions(program.command("merge")))
    .description("merge a differencing disk into its parent (or --into a further ancestor), then delete the merged disks")
    .argument("<child>", "the differencing disk to merge (relative: to the current directory)")
    .option("--into <ancestor>", "the ancestor to merge into (default: the parent); the disks between are merged too")
    .option("--relink <disk...>", "disks that use the child as their parent: point them at the ancestor afterwards")
    .action((child: string, options: MergeOptions) =>
      runCommand(options, async ({ json, signal, progress, locate, named }) => {
        const into = options.into === undefined ? [] : [{ path: options.into, parameter: "destinationPath" }];
        const relink = (options.relink ?? []).map((path) => ({ path, parameter: "relink" }));
        const located = await locate([{ path: child, parameter: "imagePath" }, ...into, ...relink]);
        const [hostChild = child, ...rest] = located.paths;
        const hostInto = options.into === undefined ? undefined : rest.shift();
        const bar = progress("merge");
        const result = named(await mergeDisk({
          storage: located.storage,
          imagePath: hostChild,
          ...(hostInto === undefined ? {} : { destinationPath: hostInto }),
          relink: rest,
          pathRules: pathRulesFrom(options),
          signal,
          onProgress: bar.update,
        }));
        bar.stop();
        if (json) printJson(result);
        else {
          printFields([
            ...result.merged.map((path) => ["merged and deleted", path] as const),
            ...result.relinked.map((path) => ["relinked", path] as const),
            ["bytes merged", formatByteCount(result.bytesWritten)],
            ...describeDisk(result.destination),
          ]);
        }
      }),
    );
}
