import type { Command } from "commander";
import { sha256File } from "../../checksum/sha256";
import { runCommand, withCommonOptions, type CommonOptions } from "../command-runner";
import { printJson } from "../output";
import { localStorage } from "../../storage/local/local-storage";

/** `vhd checksum <path>`: the SHA-256 of a file, printed like `sha256sum` (`<hex>  <path>`). */
export function registerChecksum(program: Command): void {
  withCommonOptions(program.command("checksum"))
    .description("SHA-256 of a file, as sha256sum prints it (the checksum the provider records for a parent)")
    .argument("<path>", "the file")
    .action((path: string, options: CommonOptions) =>
      runCommand(options, async ({ json, signal, progress }) => {
        const bar = progress("sha256");
        const { sha256, bytes } = await sha256File(path, { signal, onProgress: bar.update, parameter: "path", storage: localStorage });
        bar.stop();
        if (json) printJson({ path, sha256, bytes });
        else process.stdout.write(`${sha256}  ${path}\n`);
      }),
    );
}
