// The one test for "this is a file-system error": an Error whose code is an errno name (ENOENT, ENOSPC…), as
// Node's fs and net calls throw. Used by the file store and by the CLI's datastore commands alike.

/** The errno name (`ENOSPC`) of a Node system error, or undefined for anything else. */
export function errnoOf(err: unknown): string | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && /^E[A-Z0-9]+$/.test(code) ? code : undefined;
}
