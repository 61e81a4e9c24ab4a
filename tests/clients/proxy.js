// Loopback proxy for the MCP conformance suite, which cannot send an Authorization header: adds
// `Authorization: Bearer <key>` when the request has none, keeps every other header as sent (Host and
// Origin too, so dns-rebinding-protection still tests Gatehouse), and streams bodies both ways.
//
//   node proxy.js <listen port, 0 = any free one> <Gatehouse port> <key>
//
// Prints `proxy listening on <port>` once it accepts connections; exits when stdin closes, so it
// never outlives the test that started it.
const http = require('http');

const [listen, target, key] = [Number(process.argv[2]), Number(process.argv[3]), process.argv[4]];
if (!Number.isInteger(listen) || !Number.isInteger(target) || !key) {
  console.error('usage: node proxy.js <listen port> <target port> <key>');
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
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
