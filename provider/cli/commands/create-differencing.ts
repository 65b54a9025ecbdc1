import type { Command } from "commander";
import { createDifferencingDisk } from "../../ops/create-differencing";
import { runCommand, withCommonOptions, type CommonOptions } from "../command-runner";
import { printDisk } from "../disk-description";
import { createSettings, withCreateOptions, type CreateOptions } from "../create-options";
import { localStorage } from "../../storage/local/local-storage";

/**
 * `vhd create-differencing <imagePath> <parentPath>`: `CreateDifferencingVirtualHardDisk` from the command line, its
 * arguments in the contract's order and its path rules as they are: at least one path absolute, a relative one taken
 * relative to the OTHER path's folder (not to the current directory).
 */
export function registerCreateDifferencing(program: Command): void {
  withCreateOptions(withCommonOptions(program.command("create-differencing")))
    .description(
      "create a differencing disk off a parent; at least one path absolute, a relative one is relative to the other",
    )
    .argument("<imagePath>", "the new disk (its folder is created when missing)")
    .argument("<parentPath>", "the parent disk (fixed, dynamic or differencing)")
    .action((imagePath: string, parentPath: string, options: CommonOptions & CreateOptions) =>
      runCommand(options, async ({ json, signal, progress }) => {
        const bar = progress("create");
        const info = await createDifferencingDisk({
          storage: localStorage,
          imagePath,
          parentPath,
          ...createSettings(options, { path: imagePath, parameter: "imagePath" }),
          signal,
          onProgress: bar.update,
        });
        bar.stop();
        printDisk(info, json);
      }),
    );
}
