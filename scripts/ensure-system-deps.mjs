#!/usr/bin/env node
// Installs the system packages Tabby's real-component suites need (nftables, iproute2, etcd, iperf3, openssl, socat,
// zsh, fish, kubectl, tcpdump, conntrack)
// when they are missing and we are root on Debian. Without root it only reports what is missing:
// the suites that need a missing tool then report themselves as skipped with that reason.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** command on PATH -> Debian package that provides it */
const REQUIRED = [
  { command: 'nft', pkg: 'nftables', why: 'dataplane enforcement and its real-traffic tests' },
  { command: 'ip', pkg: 'iproute2', why: 'network namespaces and veth pairs for workloads' },
  { command: 'etcd', pkg: 'etcd-server', why: 'the etcd datastore and its tests' },
  { command: 'etcdctl', pkg: 'etcd-client', why: 'etcd cluster membership in tests' },
  { command: 'iperf3', pkg: 'iperf3', why: 'the dataplane and hosts throughput benchmarks' },
  { command: 'openssl', pkg: 'openssl', why: 'the certificates of the etcd TLS tests' },
  { command: 'zsh', pkg: 'zsh', why: 'the zsh completion test (tabby completion zsh)' },
  { command: 'fish', pkg: 'fish', why: 'the fish completion test (tabby completion fish)' },
  // Debian's kubectl; a newer one already on PATH (kubectl's own packages) is used as it is.
  { command: 'kubectl', pkg: 'kubernetes-client', why: "the tabby server suites drive the real kubectl" },
  { command: 'tcpdump', pkg: 'tcpdump', why: 'the flow-log reader (NFLOG groups 1 and 2 as LINKTYPE_NFLOG pcap, src/dataplane/flowlog/)' },
  { command: 'conntrack', pkg: 'conntrack', why: 'flow-log packet and byte counts and connection ends (conntrack -E)' },
  { command: 'socat', pkg: 'socat', why: 'raw ICMP and IP-protocol packets in the real-traffic conformance suites (Node has no raw sockets)' },
];

function onPath(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

// `ensure-system-deps.mjs nft ip` checks only those commands (npm start needs less than npm test).
const only = process.argv.slice(2);
const wanted = only.length > 0 ? REQUIRED.filter((r) => only.includes(r.command)) : REQUIRED;
const missing = wanted.filter((r) => !onPath(r.command));
if (missing.length === 0) process.exit(0);

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const hasApt = existsSync('/usr/bin/apt-get');
if (!isRoot || !hasApt) {
  for (const m of missing) {
    process.stderr.write(`tabby: '${m.command}' not found (Debian package ${m.pkg}; needed for ${m.why}); ` +
      `suites that need it will be skipped. Install with: sudo apt-get install ${m.pkg}\n`);
  }
  process.exit(0);
}

const pkgs = [...new Set(missing.map((m) => m.pkg))];
process.stderr.write(`tabby: installing system packages: ${pkgs.join(' ')}\n`);
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
try {
  execFileSync('apt-get', ['update', '-qq'], { stdio: ['ignore', 'ignore', 'inherit'], env });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...pkgs],
    { stdio: ['ignore', 'ignore', 'inherit'], env });
} catch (err) {
  process.stderr.write(`tabby: apt-get install ${pkgs.join(' ')} failed: ${err.message}\n`);
  process.exit(1);
}
