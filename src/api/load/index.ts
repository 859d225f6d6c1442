// Loading manifests with source positions: files, directories and stdin → validated resources, and in-memory
// text → decoded objects (for the datastore and the server). See load.ts and decode.ts.

export { decodeManifests, type DecodedObject, type DecodeOptions, type DecodeResult, type ObjectBudget } from './decode.js';
export { LOAD_LIMITS } from './limits.js';
export { fixedLocator, type SourceLocator } from './locate.js';
export {
  admit, decodeEntry, loadResources, readTextFile, resourceLabel, type LoadedResource, type LoadOptions, type LoadResult,
} from './load.js';
export {
  expandPaths, MANIFEST_EXTENSIONS, STDIN_NAME, STDIN_PATH, type Admission, type ExpandOptions, type SourceEntry,
} from './sources.js';
