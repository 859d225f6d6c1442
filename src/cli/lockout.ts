// The lockout check on the write path (issue 17 §4): apply, create, replace, delete, patch and label plan their
// changes, and before anything is written the analysis part's lockoutCheck compares the store's resources with
// what the changes would leave. A change that cuts a critical host flow is refused (exit 11, nothing written)
// unless --allow-lockout is given, which writes and warns; --dry-run prints the findings after the impact and
// exits 11 when the real run would be refused. The flows are the analysis defaults plus the `lockoutPorts`
// setting (--lockout-ports, TABBY_LOCKOUT_PORTS, `lockoutPorts:` in config.yaml).

import {
  criticalFlows, decisionText, flowLabel, lockoutCheck, parseLockoutPorts,
  type CriticalFlow, type LockoutFinding, type LockoutReport,
} from '../analysis/index.js';
import { escapeControls, type Resource } from '../api/index.js';
import { CliError, EXIT, stringOption, UsageError, write, type CommandIO, type ParsedCommandArgs } from './command.js';
import { resolveSetting, SETTINGS } from './settings.js';

/** Lines of findings printed; the JSON lists every one. */
const TEXT_LINES = 50;

export const LOCKOUT_OPTIONS = {
  'allow-lockout': {
    type: 'boolean',
    description: 'Write even when the lockout check finds that the change cuts a critical host flow (SSH, kubelet, API server, etcd, BGP, DNS, --lockout-ports); a warning names each flow',
  },
  'lockout-ports': {
    type: 'string', valueName: 'LIST',
    description: `${SETTINGS.lockoutPorts.description} (default: $${SETTINGS.lockoutPorts.env}, then 'lockoutPorts:' in config.yaml)`,
  },
} as const;

export interface LockoutPolicy {
  allow: boolean;
  /**
   * The flows, resolved on first use: only a check with host endpoints to check reads the setting (and so
   * config.yaml, which a user writing to a store named by --datastore may not be allowed to read).
   */
  flows: () => Promise<CriticalFlow[]>;
}

/** The critical flows from the defaults and the lockoutPorts setting. */
async function resolveLockoutFlows(args: ParsedCommandArgs, io: CommandIO): Promise<CriticalFlow[]> {
  const setting = await resolveSetting('lockoutPorts', args, io);
  if (setting.value.trim() === '') return criticalFlows();
  const parsed = parseLockoutPorts(setting.value, setting.origin);
  if (!parsed.ok) {
    const message = parsed.issues.map((i) => i.message).join('; ');
    throw setting.source === 'config' ? new CliError(message) : new UsageError(message);
  }
  return criticalFlows(parsed.value);
}

export async function lockoutPolicy(args: ParsedCommandArgs, io: CommandIO): Promise<LockoutPolicy> {
  let flows: Promise<CriticalFlow[]> | undefined;
  const policy: LockoutPolicy = { allow: args.values['allow-lockout'] === true, flows: () => (flows ??= resolveLockoutFlows(args, io)) };
  // A flag or variable is checked at once (a typo is a usage error even when no host endpoint needs it); only
  // config.yaml waits until a check needs it.
  if (stringOption(args, 'lockout-ports') !== undefined || (io.env[SETTINGS.lockoutPorts.env] ?? '') !== '') await policy.flows();
  return policy;
}

const hasHostEndpoint = (rs: readonly Resource[]): boolean => rs.some((r) => r.kind === 'HostEndpoint');

export async function runLockoutCheck(before: readonly Resource[], after: readonly Resource[], policy: LockoutPolicy): Promise<LockoutReport> {
  if (!hasHostEndpoint(before) && !hasHostEndpoint(after)) return { nodes: [], flows: [], checked: 0, cut: [] };
  return lockoutCheck(before, after, { flows: await policy.flows(), felixConfiguration: true });
}

/** `node n1 eth0 (hep:n1-eth0): kubelet (TCP 10250 inbound) from outside …, e.g. 1.0.0.1: cut by …` */
export function findingLine(f: LockoutFinding): string {
  const hep = f.hostEndpoint ? ` (${f.hostEndpoint})` : '';
  const peer = f.flow.direction === 'inbound' ? `from ${f.peer}` : `to ${f.peer}`;
  const member = f.flow.direction === 'inbound' ? f.from : f.to;
  const eg = f.peer.includes(member) ? '' : `, e.g. ${member}`;
  // Names from the input, printed as they are only when printable (issue 10 §6).
  return escapeControls(`node ${f.node} ${f.interface}${hep}: ${flowLabel(f.flow)} ${peer}${eg}: cut by ${decisionText(f.after.decision)}`);
}

function listed(report: LockoutReport): string[] {
  const lines = report.cut.slice(0, TEXT_LINES).map(findingLine);
  if (report.cut.length > TEXT_LINES) lines.push(`… and ${report.cut.length - TEXT_LINES} more (-o json lists them all)`);
  return lines;
}

function nodesOf(report: LockoutReport): string {
  const nodes = [...new Set(report.cut.map((c) => c.node))];
  return `${nodes.length === 1 ? 'node' : 'nodes'} ${nodes.join(', ')}`;
}

function flowsPhrase(n: number): string {
  return `${n} critical host flow${n === 1 ? '' : 's'}`;
}

/** The dry run's section: nothing when no node has a host endpoint on either side. */
export function lockoutLines(report: LockoutReport, policy: LockoutPolicy): string[] {
  if (report.nodes.length === 0) return [];
  if (report.cut.length === 0) {
    return ['', `Lockout check: no critical host flow is cut (${report.flows.length} flows on ${report.nodes.length} node${report.nodes.length === 1 ? '' : 's'}: ${report.checked} checked)`];
  }
  const verdict = policy.allow ? 'a real run writes anyway (--allow-lockout)' : 'a real run refuses it (exit 11) unless --allow-lockout is given';
  return ['', `Lockout check: the change cuts ${flowsPhrase(report.cut.length)} on ${nodesOf(report)}; ${verdict}:`, ...listed(report).map((l) => `  ${l}`)];
}

/** The dry run's JSON `lockout` field (a stable contract); null when no node has a host endpoint. */
export function lockoutJson(report: LockoutReport, policy: LockoutPolicy): unknown {
  if (report.nodes.length === 0) return null;
  return {
    nodes: report.nodes,
    flows: report.flows,
    checked: report.checked,
    refused: report.cut.length > 0 && !policy.allow,
    cut: report.cut,
  };
}

/** The exit code a real run would have because of the check: 11 when it refuses, else undefined. */
export function lockoutExit(report: LockoutReport, policy: LockoutPolicy): number | undefined {
  return report.cut.length > 0 && !policy.allow ? EXIT.lockout : undefined;
}

/**
 * Before a real write: refuses (throws, nothing written) or, with --allow-lockout, warns on stderr and lets the
 * write go on.
 */
export function enforceLockout(report: LockoutReport, policy: LockoutPolicy, verb: string, io: CommandIO): void {
  if (report.cut.length === 0) return;
  const lines = listed(report);
  if (policy.allow) {
    write(io.stderr, `warning: --allow-lockout: the change cuts ${flowsPhrase(report.cut.length)} on ${nodesOf(report)}:`);
    for (const l of lines) write(io.stderr, `warning:   ${l}`);
    return;
  }
  // One error with its list: main.ts prints it after `error: ` and escapes each line.
  throw new CliError([
    `the change would cut ${flowsPhrase(report.cut.length)} on ${nodesOf(report)}; nothing was ${verb} ` +
      '(allow these flows first, or give --allow-lockout to write anyway):',
    ...lines.map((l) => `  ${l}`),
  ].join('\n'), EXIT.lockout, true);
}
