// `-o custom-columns=HEADER:PATH,...` and `-o custom-columns-file=FILE`, as kubectl reads them
// (k8s.io/cli-runtime/pkg/printers/customcolumn.go): each column a header and a JSONPath (jsonpath.ts) with the braces
// and leading dot optional (kubectl's RelaxedJSONPathExpression: `.metadata.name`, `metadata.name`,
// `{.metadata.name}`); the file form has the headers on its first line and the paths on its second, separated by
// whitespace. A path finding several values prints them comma-separated; one finding none prints `<none>`.

import { JsonPathError, findValues, parseJsonPath, valueText, type JsonPathTemplate, type JsonValue } from './jsonpath.js';

export interface CustomColumn {
  header: string;
  path: JsonPathTemplate;
}

/** kubectl's relaxed path: `{…}` optional, the leading '.' optional. */
function relaxedPath(text: string, header: string): JsonPathTemplate {
  let t = text.trim();
  if (t.startsWith('{') && t.endsWith('}')) t = t.slice(1, -1).trim();
  if (t === '') throw new JsonPathError(`column ${header} has no path`);
  if (!t.startsWith('.') && !t.startsWith('$') && !t.startsWith('@') && !t.startsWith('[')) t = `.${t}`;
  try {
    return parseJsonPath(`{${t}}`);
  } catch (err) {
    if (err instanceof JsonPathError) throw new JsonPathError(`column ${header}: ${err.message.replace(/ at column \d+$/, '')}`);
    throw err;
  }
}

/** The columns of `-o custom-columns=SPEC`; throws JsonPathError naming the bad column. */
export function parseCustomColumns(spec: string): CustomColumn[] {
  if (spec.trim() === '') throw new JsonPathError('custom-columns format specified but no custom columns given');
  return spec.split(',').map((part) => {
    const colon = part.indexOf(':');
    if (colon <= 0) throw new JsonPathError(`unexpected custom-columns spec '${part}', expected <header>:<json-path-expr>`);
    const header = part.slice(0, colon);
    return { header, path: relaxedPath(part.slice(colon + 1), header) };
  });
}

/** The columns of a custom-columns file: headers on the first non-empty line, paths on the second. */
export function parseCustomColumnsFile(text: string): CustomColumn[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length < 2) throw new JsonPathError('a custom-columns file needs two lines: the headers, then their paths');
  if (lines.length > 2) throw new JsonPathError(`a custom-columns file has two lines (headers, paths), this one has ${lines.length}`);
  const headers = lines[0]!.trim().split(/\s+/);
  const paths = lines[1]!.trim().split(/\s+/);
  if (headers.length !== paths.length) {
    throw new JsonPathError(`number of headers (${headers.length}) and field specifications (${paths.length}) don't match`);
  }
  return headers.map((header, i) => ({ header, path: relaxedPath(paths[i]!, header) }));
}

/** One object's cells. */
export function customColumnCells(columns: readonly CustomColumn[], object: JsonValue): string[] {
  return columns.map((c) => {
    const values = findValues(c.path, object);
    return values.length === 0 ? '<none>' : values.map(valueText).join(',');
  });
}
