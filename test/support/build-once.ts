/**
 * vitest global setup: builds provider/dist once, before any test file runs. The CLI and Pulumi tests run the BUILT
 * code in child processes; a build per test file let one file's tsc rewrite dist/ under another file's running
 * `vhd`, which then loaded a half-written module.
 */
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";

export default function buildOnce(): void {
  const build = spawnSync("npm", ["run", "build"], { cwd: resolve(__dirname, "../.."), encoding: "utf8" });
  if (build.status !== 0) throw new Error(`npm run build failed:\n${build.stdout}\n${build.stderr}`);
}
