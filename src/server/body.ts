// Request bodies: bounded, then parsed as JSON. The bound is kube-apiserver's default MaxRequestBodyBytes (3 MiB),
// enforced while reading (a body without Content-Length, or one that lies about it, is cut off too), so a 20 MB
// body costs 3 MiB of memory and gets 413 RequestEntityTooLarge.

import { StatusError } from './status.js';

export const MAX_BODY_BYTES = 3 * 1024 * 1024;

export function tooLarge(limit = MAX_BODY_BYTES): StatusError {
  return new StatusError(413, 'RequestEntityTooLarge', `the request body is larger than ${limit / (1024 * 1024)} MiB; split the change into smaller requests`);
}

/** The body's bytes, at most `limit` of them (413 past that). */
export async function readBody(request: Request, limit = MAX_BODY_BYTES): Promise<Uint8Array> {
  const declared = Number(request.headers.get('content-length') ?? NaN);
  if (declared > limit) throw tooLarge(limit);
  if (!request.body) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = request.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) { out.set(c, at); at += c.byteLength; }
  return out;
}

/** Parses a JSON body; a malformed one is a 400 naming where it broke. */
export function parseJsonBody(bytes: Uint8Array): unknown {
  if (bytes.byteLength === 0) throw new StatusError(400, 'BadRequest', 'the request body is empty; send a JSON object');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new StatusError(400, 'BadRequest', 'the request body is not valid UTF-8');
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new StatusError(400, 'BadRequest', `the request body is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
}
