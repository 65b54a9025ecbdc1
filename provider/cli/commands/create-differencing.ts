import type { Command } from "commander";
import { createDifferencingDisk } from "../../ops/create-differencing";
import { runCommand, withCommonOptions, type CommonOptions } from "../command-runner";
import { printDisk } from "../disk-description";
import { createSettings, withCreateOptions, type CreateFlags } from "../create-options";

/**
 * `vhd create-differencing <imagePath> <parentPath>`: `CreateDifferencingVirtualHardDisk` from the command line, its
 * arguments in the contract's order and its path rules as they are: at least one path absolute, a relative one taken
 * relative to the OTHER path's folder (not to the current directory).
 */
export function registerCreateDifferencing(program: Command): void {
  withCreateOptions(withCommonOptions(program.command("create-differencing")))
    .description(
      "create a differencing disk off a VHD or VHDX parent (the same format: .vhdx for a VHDX); at least one path absolute, a relative one is relative to the other",
    )
    .argument("<imagePath>", "the new disk (its folder is created when missing)")
    .argument("<parentPath>", "the parent disk (fixed, dynamic or differencing)")
    .action((imagePath: string, parentPath: string, options: CommonOptions & CreateFlags) =>
      runCommand(options, async ({ json, signal, progress, locate, named }) => {
        const located = await locate([{ path: imagePath, parameter: "imagePath" }, { path: parentPath, parameter: "parentPath" }]);
        const [hostImagePath = imagePath, hostParentPath = parentPath] = located.paths;
        const bar = progress("create");
        const info = await createDifferencingDisk({
          storage: located.storage,
          imagePath: hostImagePath,
          parentPath: hostParentPath,
          ...createSettings(options, { path: imagePath, parameter: "imagePath" }),
          signal,
          onProgress: bar.update,
        });
        bar.stop();
        printDisk(named(info), json);
      }),
    );
}
