/** The TypeScript sources of provider/ (built output and dependencies left out), for the tests that read the code. */
import { promises as fsp } from "node:fs";
import { join, resolve } from "node:path";

export const PROVIDER = resolve(__dirname, "../../provider");

/** Every `.ts` file below `folder` (default provider/), `dist/` and `node_modules/` left out. */
export async function sourceFiles(folder = PROVIDER): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await fsp.readdir(folder, { withFileTypes: true })) {
    const full = join(folder, entry.name);
    if (entry.isDirectory() && entry.name !== "dist" && entry.name !== "node_modules") found.push(...(await sourceFiles(full)));
    else if (entry.isFile() && entry.name.endsWith(".ts")) found.push(full);
  }
  return found;
}
