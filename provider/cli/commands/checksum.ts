import type { Command } from "commander";
import { sha256File } from "../../sha256/sha256";
import { runCommand, withCommonOptions, type CommonOptions } from "../command-runner";
import { printJson } from "../output";

/** `vhd checksum <path>`: the SHA-256 of a file, printed like `sha256sum` (`<hex>  <path>`). */
export function registerChecksum(program: Command): void {
  withCommonOptions(program.command("checksum"))
    .description("SHA-256 of a file, as sha256sum prints it (the checksum the provider records for a parent)")
    .argument("<path>", "the file")
    .action((path: string, options: CommonOptions) =>
      runCommand(options, async ({ json, signal, progress, locateOne, named }) => {
        const { storage, path: hostPath } = await locateOne(path, "path");
        const bar = progress("sha256");
        const { sha256, bytes } = await sha256File(hostPath, { signal, onProgress: bar.update, parameter: "path", storage });
        bar.stop();
        const sum = named({ path: hostPath, sha256, bytes });
        if (json) printJson(sum);
        else process.stdout.write(`${sha256}  ${sum.path}\n`);
      }),
    );
}
