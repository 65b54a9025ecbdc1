/**
 * The import rule of provider/README.md, checked against the code: the layer order is read from the README's
 * "data flows one way" list, and every relative import of provider/**\/*.ts must point at its own folder or a folder
 * below it, except the arrows the README names (a driver up to `disk/`'s contract and chain; `disk/formats.ts` down to
 * a driver) and `vhd/format/`, which imports `errors/` only. The root README must give the same order.
 */
import { promises as fsp } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";
import { expect, it } from "vitest";
import { PROVIDER, sourceFiles } from "./provider-files";

const REPO = resolve(PROVIDER, "..");

/**
 * The folders of a README's layer list, top first, from the lines `layerLine` matches (continuation lines are
 * indented further); folders on one line share a layer (`cli/, resource/`).
 */
function layersOf(readme: string, listStart: RegExp, layerLine: RegExp): string[][] {
  const start = readme.search(listStart);
  const block = readme.slice(readme.indexOf("```", start) + 3);
  const lines = block.slice(0, block.indexOf("```")).split("\n");
  const layers: string[][] = [];
  for (const line of lines) {
    const head = layerLine.exec(line);
    if (head !== null) layers.push([...(head[1] ?? "").matchAll(/([a-z0-9]+)\//g)].map((match) => match[1] ?? ""));
  }
  return layers;
}

/** The top folder of a path relative to provider/. */
function roomOf(path: string): string {
  return path.split("/")[0] ?? "";
}

/** The arrows the README allows besides "down the list". */
function allowedException(from: string, to: string): boolean {
  const fromRoom = roomOf(from);
  const toRoom = roomOf(to);
  const drivers = ["vhd", "vhdx"];
  if (drivers.includes(fromRoom) && toRoom === "disk") {
    if (["disk/image", "disk/driver", "disk/chain", "disk/content", "disk/disk-info", "disk/write-range", "disk/sector-sizes"].includes(to)) return true;
    // Format-neutral jobs still in vhd/ (the README names them as the next step into disk/).
    return to === "disk/formats" && ["vhd/disk-identity.ts", "vhd/unlinked-checksum.ts"].includes(from);
  }
  if (fromRoom === "disk" && drivers.includes(toRoom)) return from === "disk/formats.ts";
  // VHDX shares the one layouts-as-data codec, and the verify report's helpers that live in vhd/.
  if (fromRoom === "vhdx" && toRoom === "vhd") return ["vhd/format/field", "vhd/verify"].includes(to);
  return false;
}

it("provider/README's layer order is the one the imports keep, and the root README gives the same order", async () => {
  const layers = layersOf(await fsp.readFile(join(PROVIDER, "README.md"), "utf8"), /Data flows one way/, /^\s*->\s*((?:[a-z0-9]+\/,?\s*)+)/);
  const rank = new Map(layers.flatMap((folders, index) => folders.map((folder) => [folder, index] as const)));
  const folders = (await fsp.readdir(PROVIDER, { withFileTypes: true }))
    .filter((entry) => entry.isDirectory() && !["bin", "dist", "node_modules"].includes(entry.name))
    .map((entry) => entry.name);
  expect([...rank.keys()].sort()).toEqual(folders.sort());

  const broken: string[] = [];
  for (const file of await sourceFiles(PROVIDER)) {
    const from = relative(PROVIDER, file);
    const fromRoom = roomOf(from);
    if (!from.includes("/")) continue; // index.ts re-exports the public surface from every layer
    const { importedFiles } = ts.preProcessFile(await fsp.readFile(file, "utf8"), true, true);
    for (const { fileName } of importedFiles) {
      if (!fileName.startsWith(".")) continue;
      const to = relative(PROVIDER, resolve(dirname(file), fileName));
      const toRoom = roomOf(to);
      // The package.json the version comes from, and index.ts, sit beside the layers, not in one.
      if (!to.includes("/") || to.startsWith("..")) continue;
      if (from.startsWith("vhd/format/")) {
        if (!to.startsWith("vhd/format/") && toRoom !== "errors") broken.push(`${from} -> ${to} (vhd/format/ imports errors/ only)`);
        continue;
      }
      if (toRoom === fromRoom || allowedException(from, to)) continue;
      if ((rank.get(toRoom) ?? -1) <= (rank.get(fromRoom) ?? -1)) broken.push(`${from} -> ${to}`);
    }
  }
  expect(broken).toEqual([]);

  const rootLayers = layersOf(await fsp.readFile(join(REPO, "README.md"), "utf8"), /^## Layout/m, /^ {2}((?:[a-z0-9]+\/,?\s*)+)/)
    .flat()
    .filter((folder) => rank.has(folder));
  expect(rootLayers).toEqual(layers.flat());
});
