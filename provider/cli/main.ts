#!/usr/bin/env node
/**
 * `vhd`: differencing VHD disks from the command line. This file only maps argv to a subcommand (one file each in
 * `commands/`) and turns commander's usage errors into the same one-line error format as every other failure.
 */
import { Command, CommanderError } from "commander";
import { VhdError } from "../errors";
import { registerChecksum } from "./commands/checksum";
import { registerCreate } from "./commands/create";
import { registerCreateDifferencing } from "./commands/create-differencing";
import { registerInspect } from "./commands/inspect";
import { registerRead } from "./commands/read";
import { registerVerify } from "./commands/verify";
import { registerWrite } from "./commands/write";
import { ExitStatus } from "./exit-status";
import { printError } from "./output";

const program = new Command("vhd")
  .description("Create, inspect, verify, read and write VHD 1.0 disks, differencing chains included.")
  .version(require("../../package.json").version as string)
  .configureOutput({
    // Commander writes "error: missing required argument 'path'"; say it the way every other failure is said.
    outputError: (text) =>
      printError(new VhdError("E_INVALIDARG", `${text.trim().replace(/^error: /, "")} (see vhd --help)`), wantsJson()),
  })
  .exitOverride((error: CommanderError) => {
    process.exit(error.exitCode === 0 ? ExitStatus.ok : ExitStatus.usage);
  });

registerCreateDifferencing(program);
registerCreate(program);
registerInspect(program);
registerVerify(program);
registerRead(program);
registerWrite(program);
registerChecksum(program);

void program.parseAsync(process.argv);

/** Whether `--json` is on the command line, for errors found before commander has parsed the options. */
function wantsJson(): boolean {
  return process.argv.includes("--json");
}
