// The program a probe agent runs inside a workload's namespace (started with `node -e`, so it must be one
// self-contained CommonJS text with no imports of ours): it serves TCP and UDP ports — a TCP server answers
// with one line and closes, a UDP server echoes — and opens fresh client connections on request, like the
// e2e suite's agnhost `connect` (a connection refused or timed out is "blocked"). It speaks JSON lines on
// stdin/stdout:
//
//   → {"id":1,"op":"listen","protocol":"tcp","port":80}            ← {"id":1,"ok":true}
//   → {"id":2,"op":"connect","protocol":"udp","host":"10.1.0.2","port":80,"timeoutMs":1000}   (+ localAddress, localPort)
//                                                                  ← {"id":2,"ok":false,"error":"timeout","ms":1001}
//   → {"id":3,"op":"raw","family":4,"protocol":1,"src":"…","dst":"…","payload":"<base64>"}  ← {"id":3,"ok":true}
//
// `raw` sends one packet of any IP protocol (what follows the IP header is the payload) with socat's raw-socket
// address (Node has no raw sockets); the receiver counts arrivals itself (arrivals.ts), as nothing answers.
//
// It exits when stdin closes, so it never outlives the process that started it.

export const PROBE_AGENT_SCRIPT = String.raw`
'use strict';
const net = require('net');
const dgram = require('dgram');
const readline = require('readline');
const { spawn } = require('child_process');
const name = process.argv[1] || 'workload';
const servers = [];

function reply(obj) { process.stdout.write(JSON.stringify(obj) + '\n'); }

function listen(protocol, port) {
  return new Promise((resolve) => {
    if (protocol === 'tcp') {
      const srv = net.createServer((sock) => { sock.on('error', () => {}); sock.end('tabby ' + name + '\n'); });
      srv.on('error', (e) => resolve({ ok: false, error: e.code || e.message }));
      srv.listen({ port, host: '::', ipv6Only: false }, () => { servers.push(srv); resolve({ ok: true }); });
    } else if (protocol === 'udp') {
      const sock = dgram.createSocket({ type: 'udp6', ipv6Only: false });
      sock.on('message', (msg, rinfo) => sock.send(msg, rinfo.port, rinfo.address));
      sock.on('error', (e) => resolve({ ok: false, error: e.code || e.message }));
      sock.bind(port, '::', () => { servers.push(sock); resolve({ ok: true }); });
    } else {
      resolve({ ok: false, error: 'unsupported protocol ' + protocol });
    }
  });
}

function connect(protocol, host, port, timeoutMs, localAddress, localPort) {
  const start = Date.now();
  return new Promise((resolve) => {
    let done = false;
    const finish = (ok, error, cleanup) => {
      if (done) return;
      done = true;
      try { cleanup(); } catch (e) {}
      resolve(ok ? { ok: true, ms: Date.now() - start } : { ok: false, error, ms: Date.now() - start });
    };
    if (protocol === 'tcp') {
      const opts = { host, port };
      if (localAddress) opts.localAddress = localAddress;
      if (localPort) opts.localPort = localPort;
      const s = net.connect(opts);
      const timer = setTimeout(() => finish(false, 'timeout', () => s.destroy()), timeoutMs);
      s.on('connect', () => { clearTimeout(timer); finish(true, undefined, () => s.destroy()); });
      s.on('error', (e) => { clearTimeout(timer); finish(false, e.code || e.message, () => s.destroy()); });
    } else if (protocol === 'udp') {
      const s = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
      const payload = Buffer.from('probe ' + Math.random());
      // One datagram may be lost to a race with a neighbour entry; resend while waiting.
      const send = () => s.send(payload, port, host, () => {});
      const bound = new Promise((res) => {
        if (!localAddress && !localPort) return res();
        s.bind({ address: localAddress, port: localPort || 0 }, res);
      });
      const resend = setInterval(() => bound.then(send), Math.max(50, Math.floor(timeoutMs / 4)));
      const timer = setTimeout(() => finish(false, 'timeout', () => { clearInterval(resend); s.close(); }), timeoutMs);
      s.on('message', (msg) => {
        if (!msg.equals(payload)) return;
        clearTimeout(timer);
        finish(true, undefined, () => { clearInterval(resend); s.close(); });
      });
      s.on('error', (e) => { clearTimeout(timer); finish(false, e.code || e.message, () => { clearInterval(resend); s.close(); }); });
      bound.then(send);
    } else {
      finish(false, 'unsupported protocol ' + protocol, () => {});
    }
  });
}

function sendRaw(family, protocol, src, dst, payload) {
  return new Promise((resolve) => {
    const to = family === 6 ? 'IP6-SENDTO:[' + dst + ']:' + protocol + ',bind=[' + src + ']'
      : 'IP4-SENDTO:' + dst + ':' + protocol + ',bind=' + src;
    const child = spawn('socat', ['-u', 'STDIN', to], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b) => { stderr += b; });
    child.on('error', (e) => resolve({ ok: false, error: 'socat: ' + (e.code || e.message) }));
    child.on('close', (code) => resolve(code === 0 ? { ok: true } : { ok: false, error: stderr.trim() || 'socat exited ' + code }));
    child.stdin.on('error', () => {});
    child.stdin.end(Buffer.from(payload, 'base64'));
  });
}

const rl = readline.createInterface({ input: process.stdin });
rl.on('line', async (line) => {
  let req;
  try { req = JSON.parse(line); } catch (e) { reply({ id: null, ok: false, error: 'bad request' }); return; }
  if (req.op === 'listen') reply({ id: req.id, ...(await listen(req.protocol, req.port)) });
  else if (req.op === 'connect') reply({ id: req.id, ...(await connect(req.protocol, req.host, req.port, req.timeoutMs || 1000, req.localAddress, req.localPort)) });
  else if (req.op === 'raw') reply({ id: req.id, ...(await sendRaw(req.family, req.protocol, req.src, req.dst, req.payload)) });
  else reply({ id: req.id, ok: false, error: 'unknown op ' + req.op });
});
rl.on('close', () => process.exit(0));
reply({ id: 0, ok: true, ready: true });
`;
