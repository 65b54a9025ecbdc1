/**
 * How an observation of the parent travels in the inputs: the facts a person reads in `pulumi preview --diff`
 * (unique id, size, checksum, the same for each ancestor) as visible inputs, and the raw observation with its
 * fingerprints under the hidden {@link OBSERVED_KEY}, where the next `check` finds it to skip re-hashing.
 *
 * A visible fact the engine carried over because the program lists it in `ignoreChanges` is kept as carried: that is
 * how a user keeps a disk across a parent change they judge harmless. The hidden raw observation is always what was
 * really seen, so a carried value is never mistaken for the checksum of the file as it is now.
 */
import { isAncestors } from "./parent-observation";
import type { RawInputs } from "./settings";
import {
  type AncestorFacts,
  type AncestorObservation,
  type Ancestors,
  type DiskInputs,
  type ObservedDisks,
  type ObservedFacts,
  OBSERVED_KEY,
  type ParentObservation,
  isUnknown,
} from "./state";

/** The observed facts a program may carry over with `ignoreChanges`, in the order they are shown. */
const CARRIED_FACTS = ["parentUniqueId", "parentSize", "parentChecksum", "ancestors"] as const satisfies readonly (keyof ObservedFacts)[];

/** The inputs' part of an observation: visible facts (carried ones kept) and the hidden raw observation. */
export type ObservationInputs = ObservedFacts & { [OBSERVED_KEY]: ObservedDisks | null };

/**
 * The inputs made from `observation` of the parent at `parentPath`. `news` are the raw inputs `check` received: a
 * fact present there was carried over by the engine for `ignoreChanges` and wins over the observed one.
 */
export function observationInputs(observation: ParentObservation, parentPath: string, news: RawInputs): ObservationInputs {
  const { parentFingerprint, ancestors } = observation;
  const observed: ObservedDisks | null =
    parentFingerprint === null || observation.parentUniqueId === null || observation.parentSize === null
      ? null
      : {
          [parentPath]: {
            uniqueId: observation.parentUniqueId,
            size: observation.parentSize,
            checksum: observation.parentChecksum,
            fingerprint: parentFingerprint,
          },
          ...ancestors,
        };
  const facts: ObservedFacts = {
    parentUniqueId: observation.parentUniqueId,
    parentSize: observation.parentSize,
    parentChecksum: observation.parentChecksum,
    ancestors: ancestors === null ? null : ancestorFacts(ancestors),
  };
  for (const key of CARRIED_FACTS) {
    const value = news[key];
    if (value !== undefined && value !== null && !isUnknown(value)) Object.assign(facts, { [key]: value });
  }
  return { ...facts, [OBSERVED_KEY]: observed };
}

/**
 * The observation recorded with the previous inputs of a disk whose parent is `parentPath`, for reuse while a
 * fingerprint holds. Reads the hidden raw observation, or the shape of state written before it existed (fingerprints
 * among the visible facts). `undefined` when nothing usable was recorded.
 */
export function previousObservation(olds: Partial<DiskInputs>, parentPath: string): Partial<ParentObservation> | undefined {
  const raw = olds[OBSERVED_KEY];
  if (isAncestors(raw)) {
    const disks: ObservedDisks = raw;
    const parent = disks[parentPath];
    if (parent === undefined) return undefined;
    const ancestors: Ancestors = Object.fromEntries(Object.entries(disks).filter(([diskPath]) => diskPath !== parentPath));
    return {
      parentUniqueId: parent.uniqueId,
      parentChecksum: parent.checksum,
      parentFingerprint: parent.fingerprint,
      ancestors,
    };
  }
  return olds as Partial<ParentObservation>;
}

/** The facts of each ancestor without its fingerprint. */
function ancestorFacts(ancestors: Ancestors): Record<string, AncestorFacts> {
  return Object.fromEntries(
    Object.entries(ancestors).map(([diskPath, { fingerprint: _fingerprint, ...facts }]: [string, AncestorObservation]) => [
      diskPath,
      facts,
    ]),
  );
}
