// Loopback proxy for the MCP conformance suite, which cannot send an Authorization header: adds
// `Authorization: Bearer <key>` when the request has none, keeps every other header as sent (Host and
// Origin too, so dns-rebinding-protection still tests Gatehouse), and streams bodies both ways.
//
//   node proxy.js <listen port, 0 = any free one> <Gatehouse port> <key> [--until-stdin-closes]
//
// Prints `proxy listening on <port>` once it accepts connections. With --until-stdin-closes (as the
// tests start it) it exits when its stdin closes, so it never outlives the test that started it.
const http = require('http');

const untilStdinCloses = process.argv.includes('--until-stdin-closes');
const args = process.argv.slice(2).filter((arg) => arg !== '--until-stdin-closes');
const [listen, target, key] = [Number(args[0]), Number(args[1]), args[2]];
if (!Number.isInteger(listen) || !Number.isInteger(target) || !key) {
  console.error('usage: node proxy.js <listen port> <target port> <key> [--until-stdin-closes]');
  process.exit(2);
}

const server = http.createServer((req, res) => {
  const headers = { ...req.headers };
  if (!headers.authorization) headers.authorization = `Bearer ${key}`;
  const upstream = http.request(
    { host: '127.0.0.1', port: target, method: req.method, path: req.url, headers },
    (answer) => {
      res.writeHead(answer.statusCode, answer.headers);
      answer.pipe(res);
    },
  );
  upstream.on('error', (error) => {
    res.writeHead(502, { 'content-type': 'text/plain' });
    res.end(String(error));
  });
  req.pipe(upstream);
});

server.listen(listen, '127.0.0.1', () => {
  console.log(`proxy listening on ${server.address().port}`);
});
if (untilStdinCloses) {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
}
