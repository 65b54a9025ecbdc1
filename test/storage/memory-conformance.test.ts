/** The storage conformance suite against the in-memory adapter: a fresh MemoryStorage per test. */
import { posix } from "node:path";
import { MemoryStorage } from "../../provider/storage/memory/memory-storage";
import { describeStorageConformance } from "./conformance";

describeStorageConformance("memory", async () => {
  const storage = new MemoryStorage();
  const root = "/conformance";
  storage.addFolder(root);
  return {
    storage,
    root,
    join: (...names) => posix.join(root, ...names),
    symlink: async (target, linkPath) => void storage.addSymlink(linkPath, target),
    editKeepingMtime: async (path, offset, bytes) => {
      const { mtimeNs } = await storage.fingerprint(path);
      const file = await storage.open(path, { writable: true });
      await file.write(offset, bytes);
      await file.close();
      storage.setModified(path, BigInt(mtimeNs));
    },
    modeOf: async (path) => (await storage.pathFacts(path, { followLinks: true })).mode,
    cleanup: async () => undefined,
  };
});
