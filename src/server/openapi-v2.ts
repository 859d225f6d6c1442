// /openapi/v2, which client-go requests in protobuf only (gnostic's openapi_v2.Document). kubectl v1.32 reads its
// kinds' schemas from OpenAPI v3 (openapi.ts); it falls back to v2 only for a kind v3 does not have — a manifest
// of a kind this server does not serve — and a 404 there makes it stop with "failed to download openapi" before
// it can say the kind is unknown. So v2 is served as a valid, empty document (swagger "2.0", an info, no paths,
// no definitions): kubectl then skips client-side validation of the unknown kind and reports, as against any API
// server, `no matches for kind "Foo" in version "projectcalico.org/v3"`.

// The type kube-openapi answers with: client-go asks with the older '@v1.0' spelling, which Go's mime parser refuses in a reply.
export const OPENAPI_V2_PROTOBUF = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';

/** Protobuf length-delimited field (wire type 2). Lengths here are below 128, one varint byte. */
function field(number: number, payload: Uint8Array): Uint8Array {
  if (payload.length > 127) throw new Error('openapi-v2: field too long for the one-byte length this encoder writes');
  return Uint8Array.of((number << 3) | 2, payload.length, ...payload);
}

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Document{swagger: "2.0" (1), info: Info{title (1), version (2)} (2), paths: Paths{} (8)}. */
export function openApiV2Document(version: string): Uint8Array {
  const info = Uint8Array.of(...field(1, text('Tabby')), ...field(2, text(version.slice(0, 100))));
  return Uint8Array.of(...field(1, text('2.0')), ...field(2, info), ...field(8, new Uint8Array()));
}
