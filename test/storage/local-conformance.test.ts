/** The storage conformance suite against the local adapter, in a fresh temporary folder per test. */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { localStorage } from "../../provider/storage/local/local-storage";
import { describeStorageConformance, nodeFsFixtureParts } from "./conformance";

describeStorageConformance("local (node:fs)", async () => {
  const root = mkdtempSync(join(tmpdir(), "vhd-conformance-"));
  return { storage: localStorage, root, join: (...names) => join(root, ...names), ...nodeFsFixtureParts(root) };
});
