// The OpenAPI v2 document as the protobuf client-go asks for: gnostic's `openapi.v2.Document` (the message
// kube-openapi serves and kubectl decodes with github.com/googleapis/gnostic/openapiv2). The schema below is written
// here, not copied: it declares only the messages and fields Tabby emits, with the field numbers of gnostic's
// OpenAPIv2.proto (github.com/google/gnostic, openapiv2/OpenAPIv2.proto, Apache-2.0), which are the wire format.
// protobufjs encodes it. The JSON → message mapping follows gnostic's compiler: maps become repeated Named* pairs,
// `x-` keys vendor_extension entries whose value is the YAML text of the JSON value (kubectl yaml-decodes it),
// `$ref` the `_ref` field, and a key Tabby does not map is an error, so the two encodings cannot drift apart.

import protobuf from 'protobufjs';
import { stringify } from 'yaml';

type Json = Record<string, unknown>;

const PROTO = `
syntax = "proto3";
package openapi.v2;
message AdditionalPropertiesItem { oneof oneof { Schema schema = 1; bool boolean = 2; } }
message Any { string yaml = 2; }
message BodyParameter { string description = 1; string name = 2; string in = 3; bool required = 4; Schema schema = 5; }
message Definitions { repeated NamedSchema additional_properties = 1; }
message Document {
  string swagger = 1; Info info = 2; repeated string consumes = 6; repeated string produces = 7; Paths paths = 8;
  Definitions definitions = 9; repeated NamedAny vendor_extension = 16;
}
message Info { string title = 1; string version = 2; string description = 3; }
message ItemsItem { repeated Schema schema = 1; }
message NamedAny { string name = 1; Any value = 2; }
message NamedPathItem { string name = 1; PathItem value = 2; }
message NamedResponseValue { string name = 1; ResponseValue value = 2; }
message NamedSchema { string name = 1; Schema value = 2; }
message NonBodyParameter { oneof oneof { QueryParameterSubSchema query_parameter_sub_schema = 3; PathParameterSubSchema path_parameter_sub_schema = 4; } }
message Operation {
  repeated string tags = 1; string description = 3; string operation_id = 5; repeated string produces = 6;
  repeated string consumes = 7; repeated ParametersItem parameters = 8; Responses responses = 9; repeated NamedAny vendor_extension = 13;
}
message Parameter { oneof oneof { BodyParameter body_parameter = 1; NonBodyParameter non_body_parameter = 2; } }
message ParametersItem { oneof oneof { Parameter parameter = 1; } }
message PathItem {
  Operation get = 2; Operation put = 3; Operation post = 4; Operation delete = 5; Operation patch = 8;
  repeated ParametersItem parameters = 9; repeated NamedAny vendor_extension = 10;
}
message PathParameterSubSchema { bool required = 1; string in = 2; string description = 3; string name = 4; string type = 5; bool unique_items = 19; }
message Paths { repeated NamedPathItem path = 2; }
message Properties { repeated NamedSchema additional_properties = 1; }
message QueryParameterSubSchema { bool required = 1; string in = 2; string description = 3; string name = 4; string type = 6; bool unique_items = 20; }
message Response { string description = 1; SchemaItem schema = 2; }
message ResponseValue { oneof oneof { Response response = 1; } }
message Responses { repeated NamedResponseValue response_code = 1; }
message Schema {
  string _ref = 1; string format = 2; string description = 4; double maximum = 7; double minimum = 9; int64 max_length = 11;
  int64 max_items = 14; bool unique_items = 16; repeated string required = 19; repeated Any enum = 20;
  AdditionalPropertiesItem additional_properties = 21; TypeItem type = 22; ItemsItem items = 23; Properties properties = 25;
  repeated NamedAny vendor_extension = 31;
}
message SchemaItem { oneof oneof { Schema schema = 1; } }
message TypeItem { repeated string value = 1; }
`;

const root = protobuf.parse(PROTO, { keepCase: true }).root;
/** The decoder too, for tests and for reading a document back. */
export const DocumentType = root.lookupType('openapi.v2.Document');

const fail = (where: string, key: string): never => {
  throw new Error(`openapi-v2: ${where} has "${key}", which the protobuf encoding does not map`);
};

const yamlOf = (value: unknown): Json => ({ yaml: stringify(value) });

/** Copies the plain fields listed (JSON name → message field), puts `x-` keys in vendor_extension, refuses the rest. */
function fields(where: string, json: Json, plain: Record<string, string>, special: Record<string, (v: unknown) => [string, unknown]> = {}, ext = true): Json {
  const out: Json = {};
  const extensions: Json[] = [];
  for (const [key, value] of Object.entries(json)) {
    if (value === undefined) continue;
    if (ext && key.startsWith('x-')) extensions.push({ name: key, value: yamlOf(value) });
    else if (key in special) { const [f, v] = special[key]!(value); out[f] = v; }
    else if (key in plain) out[plain[key]!] = value;
    else fail(where, key);
  }
  if (extensions.length > 0) out.vendor_extension = extensions;
  return out;
}

const named = (map: unknown, each: (v: Json) => Json): Json[] =>
  Object.entries(map as Json).map(([name, value]) => ({ name, value: each(value as Json) }));

function schema(json: Json): Json {
  return fields('a schema', json, {
    format: 'format', description: 'description', maximum: 'maximum', minimum: 'minimum', maxLength: 'max_length',
    maxItems: 'max_items', uniqueItems: 'unique_items', required: 'required',
  }, {
    $ref: (v) => ['_ref', v],
    type: (v) => ['type', { value: [v] }],
    enum: (v) => ['enum', (v as unknown[]).map(yamlOf)],
    items: (v) => ['items', { schema: [schema(v as Json)] }],
    properties: (v) => ['properties', { additional_properties: named(v, schema) }],
    additionalProperties: (v) => ['additional_properties', typeof v === 'boolean' ? { boolean: v } : { schema: schema(v as Json) }],
  });
}

function parameter(json: Json): Json {
  const common = { name: 'name', in: 'in', description: 'description', required: 'required' };
  if (json.in === 'body') return { parameter: { body_parameter: fields('a body parameter', json, common, { schema: (v) => ['schema', schema(v as Json)] }, false) } };
  const sub = fields(`parameter ${String(json.name)}`, json, { ...common, type: 'type', uniqueItems: 'unique_items' }, {}, false);
  if (json.in === 'query') return { parameter: { non_body_parameter: { query_parameter_sub_schema: sub } } };
  if (json.in === 'path') return { parameter: { non_body_parameter: { path_parameter_sub_schema: sub } } };
  return fail(`parameter ${String(json.name)}`, `in: ${String(json.in)}`);
}

function operation(json: Json): Json {
  return fields('an operation', json, { tags: 'tags', description: 'description', operationId: 'operation_id', produces: 'produces', consumes: 'consumes' }, {
    parameters: (v) => ['parameters', (v as Json[]).map(parameter)],
    responses: (v) => ['responses', {
      response_code: named(v, (r) => ({ response: fields('a response', r, { description: 'description' }, { schema: (s) => ['schema', { schema: schema(s as Json) }] }, false) })),
    }],
  });
}

function pathItem(json: Json): Json {
  const op = (name: string) => (v: unknown): [string, unknown] => [name, operation(v as Json)];
  return fields('a path', json, {}, {
    get: op('get'), put: op('put'), post: op('post'), delete: op('delete'), patch: op('patch'),
    parameters: (v) => ['parameters', (v as Json[]).map(parameter)],
  });
}

/** The JSON document (openapi-v2.ts) as gnostic's protobuf. */
export function encodeOpenApiV2(doc: Json): Uint8Array {
  const message = fields('the document', doc, { swagger: 'swagger', consumes: 'consumes', produces: 'produces' }, {
    info: (v) => ['info', fields('info', v as Json, { title: 'title', version: 'version', description: 'description' }, {}, false)],
    paths: (v) => ['paths', { path: named(v, pathItem) }],
    definitions: (v) => ['definitions', { additional_properties: named(v, schema) }],
  });
  const problem = DocumentType.verify(message);
  if (problem) throw new Error(`openapi-v2: ${problem}`);
  return DocumentType.encode(DocumentType.fromObject(message)).finish();
}
