// Loading manifests with source positions: files, directories and stdin → validated resources, and in-memory
// text → decoded objects (for the datastore and the server). See load.ts and decode.ts.

export { decodeManifests, type DecodedObject, type DecodeOptions, type DecodeResult } from './decode.js';
export { LOAD_LIMITS } from './limits.js';
export { fixedLocator, type SourceLocator } from './locate.js';
export { admit, loadResources, resourceLabel, type LoadedResource, type LoadOptions, type LoadResult } from './load.js';
export { STDIN_NAME, STDIN_PATH } from './sources.js';
