import type { Command } from "commander";
import { inspectDisk } from "../../vhd/inspect";
import { unlessCancelled } from "../cancellation";
import { runCommand, withCommonOptions, type CommonOptions } from "../command-runner";
import { printDisk } from "../disk-description";
import { localStorage } from "../../storage/local/local-storage";

/** `vhd inspect <path>`: what a VHD says about itself and its chain, like `qemu-img info`. */
export function registerInspect(program: Command): void {
  withCommonOptions(program.command("inspect"))
    .description("show a VHD's type, sizes, identity, geometry, and for a differencing disk its parent and chain")
    .argument("<path>", "the VHD file")
    .action((path: string, options: CommonOptions) =>
      runCommand(options, async ({ json, signal }) => {
        const info = await unlessCancelled(inspectDisk(path, { parameter: "path", storage: localStorage }), signal);
        printDisk(info, json);
      }),
    );
}
