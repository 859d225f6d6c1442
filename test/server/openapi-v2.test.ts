// The OpenAPI v2 document (src/server/openapi-v2.ts) and its protobuf encoding (openapi-v2-proto.ts): what
// kubectl v1.20 reads from it — each kind's definition found by x-kubernetes-group-version-kind, the dryRun
// parameter on its PATCH operation — is there in both encodings. kubectl itself reads it in kubectl.test.ts.
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

import { DocumentType, encodeOpenApiV2 } from '../../src/server/openapi-v2-proto.js';
import { openApiV2Json, wantsOpenApiV2Protobuf } from '../../src/server/openapi-v2.js';
import { GROUP_VERSIONS, restGroup } from '../../src/server/served-kinds.js';

interface NamedAny { name: string; value: { yaml: string } }
interface Param { parameter: { body_parameter?: { name: string }; non_body_parameter?: { query_parameter_sub_schema?: { name: string; type: string }; path_parameter_sub_schema?: { name: string } } } }
interface Op { operation_id: string; parameters?: Param[]; vendor_extension?: NamedAny[] }
interface Schema { _ref?: string; type?: { value: string[] }; description?: string; required?: string[]; enum?: { yaml: string }[]; properties?: { additional_properties: { name: string; value: Schema }[] }; items?: { schema: Schema[] }; vendor_extension?: NamedAny[] }
interface Decoded {
  swagger: string;
  info: { title: string; version: string };
  paths: { path: { name: string; value: { get?: Op; patch?: Op; post?: Op; parameters?: Param[] } }[] };
  definitions: { additional_properties: { name: string; value: Schema }[] };
}

const doc = openApiV2Json('v0.1.0');
const decoded = DocumentType.toObject(DocumentType.decode(encodeOpenApiV2(doc)), { defaults: false }) as Decoded;
const ext = (list: NamedAny[] | undefined, name: string): unknown => {
  const e = list?.find((x) => x.name === name);
  return e === undefined ? undefined : parse(e.value.yaml);
};
const queryNames = (op: Op | undefined): string[] =>
  (op?.parameters ?? []).flatMap((p) => p.parameter.non_body_parameter?.query_parameter_sub_schema?.name ?? []);
const prop = (s: Schema, name: string): Schema => {
  const found = s.properties?.additional_properties.find((p) => p.name === name)?.value;
  if (!found) throw new Error(`no property ${name}`);
  return found;
};

describe('OpenAPI v2', () => {
  it('has every definition and path of the JSON document, in order', () => {
    expect(decoded.swagger).toBe('2.0');
    expect(decoded.info).toEqual({ title: 'Tabby', version: 'v0.1.0' });
    expect(decoded.definitions.additional_properties.map((d) => d.name)).toEqual(Object.keys(doc.definitions as object));
    expect(decoded.paths.path.map((p) => p.name)).toEqual(Object.keys(doc.paths as object));
  });

  it('every served kind: a definition with its GVK, a PATCH with dryRun and its GVK, a list with the selectors and watch', () => {
    let kinds = 0;
    for (const gv of GROUP_VERSIONS) {
      for (const info of gv.kinds) {
        kinds++;
        const want = { group: restGroup(info), version: gv.version, kind: info.kind };
        const def = decoded.definitions.additional_properties.filter((d) => JSON.stringify(ext(d.value.vendor_extension, 'x-kubernetes-group-version-kind')) === JSON.stringify([want]));
        expect(def, info.kind).toHaveLength(1);
        const item = decoded.paths.path.find((p) => JSON.stringify(ext(p.value.patch?.vendor_extension, 'x-kubernetes-group-version-kind')) === JSON.stringify(want));
        expect(item, info.kind).toBeDefined();
        expect(queryNames(item!.value.patch)).toEqual(expect.arrayContaining(['dryRun', 'fieldManager']));
        expect(ext(item!.value.patch!.vendor_extension, 'x-kubernetes-action')).toBe('patch');
        const collection = decoded.paths.path.find((p) => p.name === item!.name.replace(/\/\{name\}$/, ''));
        expect(queryNames(collection?.value.get)).toEqual(['labelSelector', 'fieldSelector', 'watch', 'resourceVersion']);
        expect(queryNames(collection?.value.post)).toEqual(expect.arrayContaining(['dryRun', 'fieldManager']));
        expect(item!.name.includes('{namespace}')).toBe(info.namespaced);
      }
    }
    expect(kinds).toBeGreaterThan(10);
  });

  it('a schema survives the encoding: types, required, enum values as YAML, references', () => {
    const gnp = decoded.definitions.additional_properties.find((d) => d.name === 'org.projectcalico.v3.GlobalNetworkPolicy')!.value;
    const rule = prop(prop(gnp, 'spec'), 'egress').items!.schema[0]!;
    const action = prop(rule, 'action');
    expect(action.type?.value).toEqual(['string']);
    expect(action.enum?.map((e) => parse(e.yaml))).toEqual(['Allow', 'Deny', 'Log', 'Pass']);
    expect(action.description).toBe('Allowed values: Allow, Deny, Log, Pass.');
    expect(rule.required).toContain('action');
    const list = decoded.definitions.additional_properties.find((d) => d.name === 'org.projectcalico.v3.GlobalNetworkPolicyList')!.value;
    expect(prop(list, 'items').items!.schema[0]!._ref).toBe('#/definitions/org.projectcalico.v3.GlobalNetworkPolicy');
    // Open objects have no type (kubectl v1.20 reads them as arbitrary values, not maps without a value schema).
    const pod = decoded.definitions.additional_properties.find((d) => d.name === 'io.k8s.api.core.v1.Pod')!.value;
    expect(prop(pod, 'spec').type).toBeUndefined();
    expect(ext(prop(pod, 'spec').vendor_extension, 'x-kubernetes-preserve-unknown-fields')).toBe(true);
  });

  it('a key the encoding does not map is an error, not dropped', () => {
    expect(() => encodeOpenApiV2({ swagger: '2.0', definitions: { X: { type: 'object', pattern: '^a' } } })).toThrow('a schema has "pattern"');
    expect(() => encodeOpenApiV2({ swagger: '2.0', host: 'x' })).toThrow('the document has "host"');
  });

  it('protobuf only when asked for, in either spelling of the media type', () => {
    expect(wantsOpenApiV2Protobuf('application/com.github.proto-openapi.spec.v2@v1.0+protobuf')).toBe(true);
    expect(wantsOpenApiV2Protobuf('application/json, application/com.github.proto-openapi.spec.v2.v1.0+protobuf;q=0.9')).toBe(true);
    expect(wantsOpenApiV2Protobuf('application/json, */*')).toBe(false);
    expect(wantsOpenApiV2Protobuf(undefined)).toBe(false);
  });
});
