// Analysis over the engine's state: the reachability matrix, the policies that apply to an endpoint, and what a
// selector matches. Everything here reads a loaded PolicyEngine and returns plain data; printing is the CLI's.

export {
  reachabilityMatrix,
  type MatrixOptions,
  type MatrixProgress,
  type MatrixStats,
  type ReachabilityMatrix,
} from './matrix.js';
export type { Mode } from './hook-vector.js';
