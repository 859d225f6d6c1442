// Bounds on what one load accepts. Manifests come from users, CI pipelines and HTTP bodies, so every
// dimension that could make parsing slow or memory-hungry has a limit, and the limit is named in the error
// text so the user knows what to change.

export const LOAD_LIMITS = {
  /** Bytes of one file, of stdin, or of one in-memory text. */
  maxFileBytes: 8 * 1024 * 1024,
  /** Nesting of mappings and sequences, the resource root counting as 1 (a Calico policy needs about 8). */
  maxDepth: 64,
  /** yaml's guard against alias expansion ("billion laughs"); see yaml's `maxAliasCount`. */
  maxAliasCount: 100,
  /** Objects (documents and List items) in one load. */
  maxObjects: 100_000,
  /** Values (scalars and collections) one document may expand to once aliases are resolved. */
  maxValuesPerDocument: 2_000_000,
  /** Directories below a path named to the loader (a manifest tree is a few levels deep). */
  maxDirectoryDepth: 32,
  /** Directory entries looked at by one load, so `-f /` ends with an issue instead of walking the disk. */
  maxDirectoryEntries: 100_000,
} as const;

export type LoadLimits = typeof LOAD_LIMITS;

export function formatBytes(n: number): string {
  return n % (1024 * 1024) === 0 ? `${n / (1024 * 1024)} MiB` : `${n} bytes`;
}
