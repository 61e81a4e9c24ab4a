// Loopback proxy: adds Authorization: Bearer <key>, keeps every other header (Host, Origin) as sent, streams bodies.
const http = require('http');
const [listen, target, key] = [+process.argv[2], +process.argv[3], process.argv[4]];
http.createServer((req, res) => {
  const headers = { ...req.headers };
  if (!headers.authorization) headers.authorization = `Bearer ${key}`;
  const up = http.request({ host: '127.0.0.1', port: target, method: req.method, path: req.url, headers }, (r) => {
    res.writeHead(r.statusCode, r.headers); r.pipe(res);
  });
  up.on('error', (e) => { res.writeHead(502); res.end(String(e)); });
  req.pipe(up);
}).listen(listen, '127.0.0.1', () => console.log(`proxy :${listen} -> :${target}`));
