// nft failures as a small typed vocabulary (knftables `error.go`): one error class with a stable code, and
// predicates callers branch on. The message passes nft's own first error through, with the script line it
// points at, so a rejected transaction reads like nft's output without a stack trace.

export type NftErrorCode =
  /** The transaction had a validation problem and was never run. */
  | 'invalid'
  /** nft rejected the script's syntax or types. */
  | 'syntax'
  /** An object the transaction refers to or deletes does not exist (ENOENT, "element does not exist"). */
  | 'notFound'
  /** `create` of an existing object, or an add that conflicts with one (EEXIST, overlapping interval). */
  | 'exists'
  /** Deleting an object still referenced (EBUSY). */
  | 'busy'
  /** The kernel refused the change itself (EOPNOTSUPP), e.g. moving an existing base chain to another hook. */
  | 'unsupported'
  /** nft could not be started, or the namespace it should run in is missing. */
  | 'exec'
  | 'unknown';

export class NftError extends Error {
  constructor(
    readonly code: NftErrorCode,
    message: string,
    /** nft's complete stderr, when nft ran. */
    readonly stderr = '',
    /** The script line the first error points at, when known. */
    readonly line?: string,
  ) {
    super(message);
    this.name = 'NftError';
  }
}

export function isNftError(err: unknown): err is NftError {
  return err instanceof NftError;
}

export function isNotFound(err: unknown): boolean {
  return isNftError(err) && err.code === 'notFound';
}

export function isAlreadyExists(err: unknown): boolean {
  return isNftError(err) && err.code === 'exists';
}

/** Classifies nft's stderr by the first `Error:` it reports. */
export function classifyNftStderr(stderr: string): { code: NftErrorCode; message: string; lineNumber?: number } {
  const first = /^(?:[^:\n]*):(\d+):[\d-]+: Error: (.*)$/m.exec(stderr) ?? /^Error: (.*)$/m.exec(stderr);
  const lineNumber = first && first.length === 3 ? Number(first[1]) : undefined;
  const message = (first ? first[first.length - 1]! : stderr.trim().split('\n')[0] ?? '').trim() || 'nft failed';
  let code: NftErrorCode = 'unknown';
  if (/No such file or directory|does not exist/i.test(message)) code = 'notFound';
  else if (/File exists|overlaps with an existing one|conflicting/i.test(message)) code = 'exists';
  else if (/Device or resource busy/i.test(message)) code = 'busy';
  else if (/Operation not supported/i.test(message)) code = 'unsupported';
  else if (/syntax error|unexpected|Could not resolve|not a|datatype mismatch|No symbol type/i.test(message)) {
    code = 'syntax';
  }
  return lineNumber === undefined ? { code, message } : { code, message, lineNumber };
}
