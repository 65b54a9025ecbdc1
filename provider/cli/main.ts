/**
 * `vhd`: differencing VHD disks from the command line. This file only maps argv to a subcommand (one file each in
 * `commands/`) and turns commander's usage errors into the same one-line error format as every other failure.
 */
import { Command, CommanderError } from "commander";
import { VhdError } from "../errors";
import { ExitStatus } from "./exit-status";
import { printError } from "./output";

const HELP_FOOTER = `
Every command takes --json (result as JSON on stdout, errors as JSON on stderr) and --quiet (no progress bar).
Sizes and offsets: bytes, or a number with K/KiB, M/MiB, G/GiB, T/TiB, all binary as in qemu-img and PowerShell
(10GiB = 10G = 10GB = 10737418240); fractions are fine when they make whole bytes (1.5GiB).

Exit status: ${ExitStatus.ok} done (verify: every check held); ${ExitStatus.failed} failed, with one stderr line
  NAME (0xHRESULT): parameter "path": what to do; ${ExitStatus.usage} usage error; ${ExitStatus.interrupted}/${ExitStatus.terminated} cancelled by SIGINT/SIGTERM.`;

const program = new Command("vhd")
  .description("Create, inspect, verify, read, write and convert VHD 1.0 and VHDX disks, differencing chains included.")
  // provider/package.json, two folders up from dist/cli/; required, as an import would sit outside tsc's rootDir.
  .version(require("../../package.json").version as string)
  .addHelpText("after", HELP_FOOTER)
  .configureOutput({
    // Commander writes "error: missing required argument 'path'"; say it the way every other failure is said.
    outputError: (text) =>
      printError(new VhdError("E_INVALIDARG", `${text.trim().replace(/^error: /, "")} (see vhd --help)`), wantsJson()),
  })
  .exitOverride((error: CommanderError) => {
    process.exit(error.exitCode === 0 ? ExitStatus.ok : ExitStatus.usage);
  });

type Register = (program: Command) => void;

/**
 * The subcommands, in help order, each module loaded only when needed: a command's module pulls in the layers it
 * uses (validation, writer, hashing, progress bars), and loading all of them is start-up time every run would pay.
 */
const COMMANDS: Record<string, () => Promise<Register>> = {
  "create-differencing": async () => (await import("./commands/create-differencing")).registerCreateDifferencing,
  create: async () => (await import("./commands/create")).registerCreate,
  inspect: async () => (await import("./commands/inspect")).registerInspect,
  verify: async () => (await import("./commands/verify")).registerVerify,
  read: async () => (await import("./commands/read")).registerRead,
  write: async () => (await import("./commands/write")).registerWrite,
  "set-parent": async () => (await import("./commands/set-parent")).registerSetParent,
  merge: async () => (await import("./commands/merge")).registerMerge,
  checksum: async () => (await import("./commands/checksum")).registerChecksum,
  convert: async () => (await import("./commands/convert")).registerConvert,
};

/**
 * Registers the subcommand argv names, none for `vhd --version` alone, or all of them (for help, `vhd help x` and
 * unknown commands), then runs.
 */
async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const named = args.find((arg) => !arg.startsWith("-"));
  const versionOnly = args.length === 1 && (args[0] === "--version" || args[0] === "-V");
  const wanted =
    named !== undefined && Object.hasOwn(COMMANDS, named) ? [named] : versionOnly ? [] : Object.keys(COMMANDS);
  for (const register of await Promise.all(wanted.map((name) => (COMMANDS[name] as () => Promise<Register>)()))) {
    register(program);
  }
  await program.parseAsync(process.argv);
}

void main();

/** Whether `--json` is on the command line, for errors found before commander has parsed the options. */
function wantsJson(): boolean {
  return process.argv.includes("--json");
}
