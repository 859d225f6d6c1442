// The sync part: the datastore-watch → engine loop every consumer of a live store shares (the node agent in
// src/dataplane, the HTTP server in src/server later). It depends on the engine and the datastore only.
//
//   syncer.ts         list, watch from the list revision, relist on compaction or a broken watch, feed the engine,
//                     batch, health, skipped objects
//   history-check.ts  "the datastore went back in time / lost objects / is another store" (issue 10 §1)
//   skipped.ts        the stored objects not in the engine, with why

export { DatastoreSyncer, type DatastoreHealth, type SyncerOptions, type SyncStatus } from './syncer.js';
export { checkBaseline, checkContinuation, revisionOf, type HistoryProblem, type StoreBaseline } from './history-check.js';
export { SKIPPED_REPORT_LIMIT } from './skipped.js';
