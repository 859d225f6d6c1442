// The server part: `tabby server`'s Kubernetes-style HTTPS API over a datastore (README.md). It depends on the
// engine, analysis, sync, datastore and api parts (test/architecture.test.ts); the CLI starts it.

export { startServer, ServerSetupError, type RunningServer, type ServerOptions } from './server.js';
export { ADMIN_GROUP, type Authorizer, type Decision, type RequestAttributes, type Verb } from './authorization.js';
export { parseTokenFile, TokenTable, type UserInfo } from './token-file.js';
