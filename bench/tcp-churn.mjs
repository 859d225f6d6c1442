// Short TCP connections for the hosts bench (bench/hosts.bench.ts), run inside a namespace with nsenter. Plain
// JavaScript so plain `node` runs it there: no loader start-up inside the measured rounds.
//
//   node tcp-churn.mjs serve PORT
//     listens on 0.0.0.0:PORT; each connection gets one byte, then the server closes (FIN first, so TIME_WAIT
//     sits on the server and the client's ephemeral ports stay free). Prints "listening" once ready.
//   node tcp-churn.mjs client
//     reads commands on stdin, one a line, and answers each with one JSON line on stdout:
//       churn HOST PORT COUNT CONCURRENCY → {"connections":N,"ms":T,"errors":E}  (COUNT connect → read → close,
//                                            CONCURRENCY at a time; T from the first connect to the last close)
//       probe HOST PORT TIMEOUT_MS        → {"ok":true|false}                     (one connection: did it open?)
import net from 'node:net';
import { createInterface } from 'node:readline';

const [mode, ...args] = process.argv.slice(2);

if (mode === 'serve') {
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    socket.end('x');
  });
  server.listen(Number(args[0]), '0.0.0.0', () => process.stdout.write('listening\n'));
} else if (mode === 'client') {
  const once = (host, port) => new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.on('data', () => {});
    socket.on('end', () => socket.end());
    socket.on('error', () => resolve(false));
    socket.on('close', (hadError) => resolve(!hadError));
  });
  const churn = async (host, port, count, concurrency) => {
    let started = 0;
    let errors = 0;
    const loop = async () => {
      while (started < count) {
        started++;
        if (!(await once(host, port))) errors++;
      }
    };
    const t = performance.now();
    await Promise.all(Array.from({ length: concurrency }, loop));
    return { connections: count, ms: performance.now() - t, errors };
  };
  const probe = (host, port, timeoutMs) => new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok) => { clearTimeout(timer); socket.destroy(); resolve({ ok }); };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.on('connect', () => done(true));
    socket.on('error', () => done(false));
  });
  // One command at a time, in order: the bench waits for each answer before sending the next.
  let queue = Promise.resolve();
  createInterface({ input: process.stdin }).on('line', (line) => {
    const [cmd, host, port, a, b] = line.trim().split(/\s+/);
    queue = queue.then(async () => {
      const out = cmd === 'churn' ? await churn(host, Number(port), Number(a), Number(b))
        : cmd === 'probe' ? await probe(host, Number(port), Number(a))
          : { error: `unknown command '${cmd}' (churn, probe)` };
      process.stdout.write(JSON.stringify(out) + '\n');
    });
  });
} else {
  process.stderr.write('usage: node tcp-churn.mjs serve PORT | client\n');
  process.exit(2);
}
