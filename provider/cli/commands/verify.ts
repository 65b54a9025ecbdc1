import type { Command } from "commander";
import { verifyAnyDisk } from "../../disk/formats";
import { unlessCancelled } from "../signals";
import { runCommand, withCommonOptions, type CommonOptions } from "../command-runner";
import { ExitStatus } from "../exit-status";
import { printJson } from "../output";

/**
 * `vhd verify <path>`: checksums, layout and the whole chain. Prints every check, then the notes (facts that are not
 * damage); exits 0 only when all checks hold, 1 otherwise (a damaged disk is a finding, reported on stdout, not an
 * error line).
 */
export function registerVerify(program: Command): void {
  withCommonOptions(program.command("verify"))
    .description("check a VHD's or VHDX's checksums, layout and whole chain; exit 0 only when every check holds")
    .argument("<path>", "the VHD or VHDX file")
    .action((path: string, options: CommonOptions) =>
      runCommand(options, async ({ json, signal, locateOne, named }) => {
        const { storage, path: hostPath } = await locateOne(path, "path");
        const report = named(await unlessCancelled(verifyAnyDisk(hostPath, { storage }), signal));
        if (json) {
          printJson(report);
        } else {
          const failed = report.checks.filter((check) => !check.ok).length;
          const lines = report.checks.map((check) => `${check.ok ? "ok  " : "FAIL"}  ${check.name}: ${check.detail}\n`);
          lines.push(...report.notes.map((note) => `note  ${note}\n`));
          lines.push(
            failed === 0
              ? `${report.path}: all ${report.checks.length} checks hold\n`
              : `${report.path}: ${failed} of ${report.checks.length} checks failed\n`,
          );
          process.stdout.write(lines.join(""));
        }
        return report.ok ? ExitStatus.ok : ExitStatus.failed;
      }),
    );
}
