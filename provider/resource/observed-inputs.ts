/**
 * How an observation of the parent travels in the inputs: only the facts a person reads in `pulumi preview --diff`
 * (unique id, size, checksum; the same for each ancestor). Fingerprints stay out: inode and ctime change on every
 * touch and are no reason anyone needs to read (checksums are recalled by fingerprint in checksum-cache.ts instead).
 *
 * A fact the engine carried over because the program lists it in `ignoreChanges` is kept as carried, and named in
 * `carriedFacts` so that diff never replaces for it: that is how a user keeps a disk across a parent change they
 * judge harmless. (Comparing it with the recorded fact is no use: the carried value comes from the last deployment's
 * inputs, which the engine does not renew when it recreates a dependent from its old inputs.)
 */
import type { FileFingerprint } from "../storage/facts";
import { isUnlinkedChecksum } from "../vhd/unlinked-checksum";
import { plainChecksumOf } from "../ops/observe-parent";
import type { RawInputs } from "./settings";
import { type AncestorFacts, type Ancestors, type ObservedFacts, type ParentObservation, isUnknown } from "./state";

/** The observed facts a program may carry over with `ignoreChanges`. */
const CARRIED_FACTS = ["parentUniqueId", "parentSize", "parentChecksum", "ancestors"] as const satisfies readonly (keyof ObservedFacts)[];

/**
 * The inputs' part of `observation`. `news` are the raw inputs `check` received: a fact present there was carried
 * over by the engine for `ignoreChanges` (the program itself never sets one) and wins over the observed one.
 */
export function observedFacts(observation: ParentObservation, news: RawInputs): ObservedFacts {
  const { ancestors } = observation;
  const facts: ObservedFacts = {
    parentUniqueId: observation.parentUniqueId,
    parentSize: observation.parentSize,
    parentChecksum: observation.parentChecksum,
    ancestors: ancestors === null ? null : ancestorFacts(ancestors),
  };
  const carried = CARRIED_FACTS.filter((key) => {
    const value = news[key];
    return value !== undefined && value !== null && !isUnknown(value);
  });
  for (const key of carried) Object.assign(facts, { [key]: news[key] });
  return carried.length === 0 ? facts : { ...facts, carriedFacts: carried };
}

/**
 * `facts` with each unlinked checksum of a differencing disk put back in the plain kind where the recorded inputs
 * (`recorded`, of state written before unlinked checksums existed) have a plain one, unless that plain one still
 * holds. So the old kind never replaces a disk by itself: a plain checksum that still matches is followed by the
 * unlinked one (replace-rules.ts treats that as a new fact to record, an update), a plain one that no longer matches
 * is shown as plain old -> plain new, a replace with its reason. Computes the plain SHA-256 only for such disks.
 */
export async function inRecordedKind(
  facts: ObservedFacts,
  observation: ParentObservation,
  parentPath: string,
  recorded: Partial<ObservedFacts>,
): Promise<ObservedFacts> {
  const recordedAncestors =
    typeof recorded.ancestors === "object" && recorded.ancestors !== null ? Object.values(recorded.ancestors) : [];
  const ancestors =
    facts.ancestors === null
      ? null
      : Object.fromEntries(
          await Promise.all(
            Object.entries(facts.ancestors).map(async ([diskPath, disk]) => {
              const was = recordedAncestors.find((old) => old.uniqueId === disk.uniqueId)?.checksum;
              const fingerprint = observation.ancestors?.[diskPath]?.fingerprint ?? null;
              return [diskPath, { ...disk, checksum: await checksumAsRecorded(was, disk.checksum, diskPath, fingerprint) }];
            }),
          ),
        );
  const parentChecksum = await checksumAsRecorded(
    recorded.parentChecksum,
    facts.parentChecksum,
    parentPath,
    observation.parentFingerprint,
  );
  return { ...facts, parentChecksum, ancestors };
}

/** `now`, or the file's plain SHA-256 when `was` is a plain checksum that it no longer matches (see {@link inRecordedKind}). */
async function checksumAsRecorded(
  was: unknown,
  now: string | null,
  diskPath: string,
  fingerprint: FileFingerprint | null,
): Promise<string | null> {
  if (typeof was !== "string" || isUnknown(was) || isUnlinkedChecksum(was) || !isUnlinkedChecksum(now) || fingerprint === null) {
    return now;
  }
  const plain = await plainChecksumOf(diskPath, fingerprint);
  return plain === was ? now : plain;
}

/** The facts of each ancestor without its fingerprint. */
function ancestorFacts(ancestors: Ancestors): Record<string, AncestorFacts> {
  return Object.fromEntries(
    Object.entries(ancestors).map(([diskPath, { fingerprint: _fingerprint, ...facts }]) => [diskPath, facts]),
  );
}
