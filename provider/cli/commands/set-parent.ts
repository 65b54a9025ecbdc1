import type { Command } from "commander";
import { setParent } from "../../ops/set-parent";
import { runCommand, withCommonOptions, type CommonOptions } from "../command-runner";
import { pathRulesFrom, withPathRulesOption } from "../create-options";
import { printFields, printJson } from "../output";

interface SetParentOptions extends CommonOptions {
  ignoreIdMismatch?: boolean;
  posixPaths?: boolean;
}

/** Set-VHD's warning for -IgnoreIdMismatch, said the way a person can act on it. */
export const IGNORE_ID_MISMATCH_WARNING =
  "the new parent's identity is not checked: unless it holds exactly the data of the parent this disk was made from, " +
  "the disk's data is lost (it will read as a mix of its own sectors and the other parent's)";

/** The locator that holds the parent's absolute path: a VHD's W2ku, a VHDX's absolute_win32_path. */
const ABSOLUTE_LOCATORS: readonly string[] = ["W2ku", "absolute_win32_path"];

/**
 * `vhd set-parent <child> <newParentPath>`: `Set-VHD -Path child -ParentPath new` for a parent that moved. The
 * child's data is not touched; what records where its parent is (VHD: locators, name and time stamp; VHDX: the parent
 * locator item) is rewritten crash-safely.
 */
export function registerSetParent(program: Command): void {
  withPathRulesOption(withCommonOptions(program.command("set-parent")))
    .description("point a differencing disk at its parent's new path (the parent moved); the child's data is kept")
    .argument("<child>", "the differencing disk (relative: to the current directory)")
    .argument("<newParentPath>", "where its parent is now (relative: to the child's folder)")
    .option("--ignore-id-mismatch", "accept a parent whose unique id differs (Set-VHD -IgnoreIdMismatch): data may be lost")
    .action((child: string, newParentPath: string, options: SetParentOptions) =>
      runCommand(options, async ({ json, signal, locate, named }) => {
        const ignoreIdMismatch = options.ignoreIdMismatch === true;
        if (ignoreIdMismatch && !json) process.stderr.write(`vhd: warning: ${IGNORE_ID_MISMATCH_WARNING}\n`);
        const located = await locate([{ path: child, parameter: "imagePath" }, { path: newParentPath, parameter: "parentPath" }]);
        const [hostChild = child, hostParent = newParentPath] = located.paths;
        const result = named(await setParent({
          storage: located.storage,
          imagePath: hostChild,
          parentPath: hostParent,
          ignoreIdMismatch,
          pathRules: pathRulesFrom(options),
          signal,
        }));
        const { disk, previous } = result;
        const warnings = ignoreIdMismatch ? [IGNORE_ID_MISMATCH_WARNING] : [];
        if (json) {
          printJson({ path: disk.path, parentPath: disk.parent?.resolvedPath, previous, idMismatchIgnored: result.idMismatchIgnored, warnings, disk });
        } else {
          printFields([
            ["image", disk.path],
            ["parent path", disk.parent?.resolvedPath ?? undefined],
            ["parent unique id", disk.parent?.uniqueId],
            // The old parent is usually gone (it moved): then its absolute locator, as stored, says where it was.
            ["previous parent", previous.resolvedPath ?? previous.locators.find((locator) => ABSOLUTE_LOCATORS.includes(locator.code))?.path ?? previous.name],
            ["previous unique id", result.idMismatchIgnored ? previous.uniqueId : undefined],
          ]);
        }
      }),
    );
}
