// Measures the flow-log reader (src/dataplane/README.md "Flow logs"): in a throwaway namespace, an nft rule logs
// every UDP packet to port 9999 to NFLOG group 1 with a Tabby prefix and snaplen 80; a sender blasts N packets on
// loopback; the reader (tcpdump → pcap → NFLOG TLVs → packet headers) counts what it got, what the kernel dropped
// (/proc/net/netlink Drops, libpcap's ENOBUFS count) and how fast. Run as root, under the netns lock:
//   flock /tmp/tabby-netns.lock npx vite-node scripts/measure-flowlog-reader.ts [N] [--rate R] [--parse]
// Without --parse the loop only counts records (the "raw reader loop"); with it each record is fully decoded.
// --rate paces the sender at R packets/s (batches every 10 ms); without it the sender goes as fast as it can, and
// the burst then mostly measures the socket buffer (-B 4096 KiB holds about 44,600 records of this size).

import { execFileSync, spawn } from 'node:child_process';

import { NflogReader, parsePacketHeaders } from '../src/dataplane/flowlog/index.js';

const n = Number(process.argv.slice(2).find((a, i, all) => /^\d+$/.test(a) && all[i - 1] !== '--rate') ?? 200_000);
const parse = process.argv.includes('--parse');
const rateAt = process.argv.indexOf('--rate');
const rate = rateAt > 0 ? Number(process.argv[rateAt + 1]) : 0;
const ns = `tbmeasure${process.pid}`;
const inNs = (...argv: string[]): string => execFileSync('ip', ['netns', 'exec', ns, ...argv], { encoding: 'utf8' });

execFileSync('ip', ['netns', 'add', ns]);
try {
  inNs('ip', 'link', 'set', 'lo', 'up');
  execFileSync('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], {
    input: 'table inet m {\n chain o {\n  type filter hook output priority 0;\n  udp dport 9999 counter log prefix "A 0123456789" group 1 snaplen 80 accept\n }\n}\n',
  });
  let got = 0;
  let ports = 0;
  const reader = new NflogReader({
    netns: ns, groups: [1], onError: (m) => console.error(m),
    onRecord: (rec) => {
      got++;
      if (parse && parsePacketHeaders(rec.payload)?.dstPort === 9999) ports++;
    },
  });
  await reader.started();
  const t0 = performance.now();
  // One process sends all N datagrams as fast as it can (64-byte payloads).
  // Spawned, not spawnSync: the reader must keep reading while the sender runs.
  const sender = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', `
    const d = require('dgram').createSocket('udp4'); const b = Buffer.alloc(64); let i = 0;
    const rate = ${rate}; const t0 = Date.now();
    const go = () => {
      const due = rate > 0 ? Math.min(${n}, Math.floor((Date.now() - t0) * rate / 1000)) : ${n};
      while (i < due) { d.send(b, 9999, '127.0.0.1'); i++; if (rate === 0 && i % 1000 === 0) return setImmediate(go); }
      if (i < ${n}) return setTimeout(go, rate > 0 ? 10 : 0);
      setTimeout(() => d.close(), 200);
    };
    go();`], { stdio: 'inherit' });
  const status = await new Promise<number | null>((r) => sender.once('exit', r));
  if (status !== 0) throw new Error(`sender exited with ${status}`);
  const sentMs = performance.now() - t0;
  const logged = Number(/packets (\d+)/.exec(inNs('nft', 'list', 'chain', 'inet', 'm', 'o'))![1]);
  let last = -1;
  // The kernel sends a batch when 100 records are queued or after 1 s (nfnetlink_log defaults): wait past that.
  while (got !== last) { last = got; await new Promise((r) => setTimeout(r, 1200)); }
  const readMs = performance.now() - t0 - 2400;
  const drops = await reader.drops();
  await reader.stop();
  const after = await reader.drops();
  if (process.argv.includes('--verbose')) console.error(reader.diagnostics);
  console.log(JSON.stringify({
    mode: parse ? 'parse' : 'count', rate: rate || 'unpaced', logged, read: got, parsedPorts: parse ? ports : undefined, socketDrops: drops.socket, pcapDrops: after.pcap,
    sendMs: Math.round(sentMs), recordsPerSecond: Math.round(got / (Math.max(readMs, sentMs) / 1000)),
  }));
} finally {
  execFileSync('ip', ['netns', 'del', ns]);
}
