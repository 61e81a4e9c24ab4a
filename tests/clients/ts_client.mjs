// An MCP client on the official TypeScript SDK (@modelcontextprotocol/sdk), as an app would write one.
//
//   node ts_client.mjs <MCP URL> --key                     # Authorization: Bearer $GATEHOUSE_API_KEY
//   node ts_client.mjs <MCP URL> --oauth <callback port>   # the SDK's OAuth: PRM discovery, DCR, PKCE,
//                                                          # $BROWSER opens the consent page, loopback callback
//
// It lists the tools, calls whoami and list_projects, and prints one JSON object on stdout with what the
// server answered (and, for OAuth, what the flow did). tests/clients/test_ts_sdk.py asserts on it.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';

import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const CALLBACK_TIMEOUT_MS = 60_000;
const [url, mode, port] = process.argv.slice(2);

/** The SDK's OAuthClientProvider, in memory, opening the authorize URL with $BROWSER like a CLI app. */
class Provider {
  constructor(redirectUrl) {
    this.redirectUrl = redirectUrl;
    this.clientMetadata = {
      client_name: 'Gatehouse TypeScript SDK test client',
      redirect_uris: [redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
    this.authorizeUrls = [];
    this.sentState = undefined;
  }
  state() {
    this.sentState = randomBytes(16).toString('hex');
    return this.sentState;
  }
  clientInformation() { return this.client; }
  saveClientInformation(client) { this.client = client; }
  tokens() { return this.savedTokens; }
  saveTokens(tokens) { this.savedTokens = tokens; }
  saveCodeVerifier(verifier) { this.verifier = verifier; }
  codeVerifier() { return this.verifier; }
  redirectToAuthorization(authorizeUrl) {
    this.authorizeUrls.push(authorizeUrl.toString());
    if (!process.env.BROWSER) throw new Error('set BROWSER to a program that opens a URL');
    spawn(process.env.BROWSER, [authorizeUrl.toString()], { stdio: ['ignore', 'inherit', 'inherit'] });
  }
}

/** The loopback redirect URI's server: resolves with the callback's query once the browser arrives. */
function listenForCallback(callbackPort) {
  let server;
  const query = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no OAuth callback in time')), CALLBACK_TIMEOUT_MS);
    server = createServer((req, res) => {
      const params = new URL(req.url, 'http://127.0.0.1').searchParams;
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('You can close this window.');
      clearTimeout(timer);
      resolve(Object.fromEntries(params));
    });
    server.on('error', reject);
  });
  return new Promise((resolve) => server.listen(callbackPort, '127.0.0.1', () => resolve({ server, query })));
}

async function connect(options) {
  const client = new Client({ name: 'gatehouse-ts-sdk-test', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), options));
  return client;
}

async function connectWithOAuth(callbackPort) {
  const provider = new Provider(`http://127.0.0.1:${callbackPort}/callback`);
  const { server, query } = await listenForCallback(callbackPort);
  try {
    const transport = new StreamableHTTPClientTransport(new URL(url), { authProvider: provider });
    const first = new Client({ name: 'gatehouse-ts-sdk-test', version: '1.0.0' });
    try {
      await first.connect(transport);
      throw new Error('the server let an unauthenticated client in');
    } catch (error) {
      if (!(error instanceof UnauthorizedError)) throw error;
    }
    const callback = await query;
    if (callback.error) throw new Error(`authorization failed: ${callback.error}`);
    if (callback.state !== provider.sentState) throw new Error('the callback state does not match');
    await transport.finishAuth(callback.code);
    const client = await connect({ authProvider: provider });
    const oauth = {
      authorize_urls: provider.authorizeUrls,
      callback_keys: Object.keys(callback).sort(),
      callback_iss: callback.iss,
      client_id: provider.client?.client_id,
      access_token_prefix: provider.savedTokens?.access_token?.slice(0, 4),
      refresh_token_prefix: provider.savedTokens?.refresh_token?.slice(0, 4),
    };
    return { client, oauth };
  } finally {
    server.close();
  }
}

async function main() {
  let client;
  let oauth;
  if (mode === '--key') {
    const headers = { Authorization: `Bearer ${process.env.GATEHOUSE_API_KEY}` };
    client = await connect({ requestInit: { headers } });
  } else if (mode === '--oauth' && port) {
    ({ client, oauth } = await connectWithOAuth(Number(port)));
  } else {
    throw new Error('usage: node ts_client.mjs <MCP URL> --key | --oauth <callback port>');
  }
  const tools = await client.listTools();
  const whoami = await client.callTool({ name: 'whoami', arguments: {} });
  const projects = await client.callTool({ name: 'list_projects', arguments: {} });
  console.log(JSON.stringify({
    server: client.getServerVersion(),
    tools: tools.tools.map((tool) => tool.name),
    whoami: whoami.structuredContent,
    whoami_is_error: whoami.isError ?? false,
    projects: projects.structuredContent,
    projects_is_error: projects.isError ?? false,
    oauth: oauth ?? null,
  }));
  await client.close();
}

main().catch((error) => {
  console.error(error?.stack ?? String(error));
  process.exit(1);
});
