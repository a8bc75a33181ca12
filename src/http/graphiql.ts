import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { GraphiQLOptions, Plugin } from 'graphql-yoga';
import { SECRET_PATTERN } from '../auth/secrets.js';
import { sendError } from './body.js';

/**
 * GraphiQL, served by scopegate itself: the page, its script, styles, fonts (inlined in the
 * styles) and editor workers all come from this server, so it works without internet and its
 * page can forbid loading anything from anywhere else. The assets are those of The Guild's
 * @graphql-yoga/render-graphiql (the build Yoga otherwise takes from a CDN); the page and
 * its start script (graphiql-start.js) are ours.
 */

/** Where the assets live: `/graphiql/<version>/<file>`, the version a hash of their content. */
export const GRAPHIQL_ASSETS = '/graphiql/';

/**
 * The GraphiQL page's policy: scripts, style sheets, workers and requests from this server
 * only; no inline script and no eval (the page needs neither); fonts and images also from
 * `data:` URLs (the style sheet embeds them). Inline styles are allowed: the editor (Monaco)
 * positions every line with a style attribute and writes its theme into a style element at
 * run time. A style cannot send anything anywhere: every URL it could load is held to this
 * server or `data:` by the directives above. API responses keep the bare `frame-ancestors 'none'`.
 */
export const GRAPHIQL_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "font-src 'self' data:",
  "img-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self'",
  "manifest-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Yoga's only HTML is the GraphiQL page: it gets the policy above, in place of the API's. */
export function useGraphiQLPolicy(): Plugin {
  return {
    onResponse({ response }) {
      if (response.headers.get('content-type')?.startsWith('text/html')) response.headers.set('content-security-policy', GRAPHIQL_CSP);
    },
  };
}

/** Versioned URLs never change content, so a browser keeps them (the page itself is no-store). */
const IMMUTABLE = 'public, max-age=31536000, immutable';
const JS = 'text/javascript; charset=utf-8';

/** What the page gives GraphiQL: a starter tab with the README's first steps. */
export const STARTER_QUERY = `# Welcome to scopegate.
#
# 1. Put your token in the Headers tab below, in place
#    of <paste your token>:
#      { "Authorization": "Bearer sgp_…" }
#    The server's first start printed the administrator's
#    token (lost? run npm run admin:token on the server).
#    Docs and autocompletion load once the token is there.
#
# 2. Run Viewer (▶, then Viewer): who the token acts as.
#
# 3. Run FirstSteps: a namespace "default", and an API
#    token "ci" in it for a CI pipeline. Its secret is
#    shown once, in the answer: store it then.

query Viewer {
  viewer {
    kind
    isAdmin
  }
}

mutation FirstSteps {
  createNamespace(input: { name: "default" }) {
    name
    viewerRole
  }
  createApiToken(input: { namespace: "default", name: "ci", role: EDITOR, expiresInDays: 30 }) {
    secret # shown once
    apiToken {
      resourceName
      expiresAt
      secretHint
    }
  }
}
`;

export const GRAPHIQL_OPTIONS: GraphiQLOptions = {
  title: 'scopegate',
  defaultQuery: STARTER_QUERY,
  defaultHeaders: JSON.stringify({ Authorization: 'Bearer <paste your token>' }, null, 2),
  // Tokens stay out of the browser's storage (a person can still turn this on in the settings).
  shouldPersistHeaders: false,
};

interface Asset {
  type: string;
  body: Buffer;
  /** Compressed on the first request that accepts gzip. */
  gzipped?: Promise<Buffer>;
}

interface Bundle {
  version: string;
  assets: Map<string, Asset>;
}

let loading: Promise<Bundle> | null = null;

/** Loaded on the first GraphiQL request (9 MB of JavaScript), not at every start. */
function bundle(): Promise<Bundle> {
  loading ??= (async () => {
    const ui = await import('@graphql-yoga/render-graphiql/graphiql');
    const files: [string, string, Buffer | string][] = [
      ['graphiql.js', JS, ui.js],
      ['graphiql.css', 'text/css; charset=utf-8', ui.css],
      ['editor.worker.js', JS, ui.editorWorkerService],
      ['json.worker.js', JS, ui.jsonWorker],
      ['graphql.worker.js', JS, ui.graphqlWorker],
      ['start.js', JS, readFileSync(new URL('./graphiql-start.js', import.meta.url))],
      ['favicon.ico', 'image/x-icon', Buffer.from(ui.favicon.slice(ui.favicon.indexOf(',') + 1), 'base64')],
    ];
    const hash = createHash('sha256');
    const assets = new Map<string, Asset>();
    for (const [name, type, content] of files) {
      const body = Buffer.from(content);
      hash.update(name).update(body);
      assets.set(name, { type, body });
    }
    return { version: hash.digest('hex').slice(0, 16), assets };
  })().catch((err) => {
    loading = null;
    throw err;
  });
  return loading;
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * Yoga's `renderGraphiQL`: the page. No inline script runs: the configuration is a JSON
 * data block the start script reads (`<` escaped, so no value can close the element).
 */
export async function renderGraphiQLPage(options: GraphiQLOptions): Promise<string> {
  const { version } = await bundle();
  const asset = (name: string) => `${GRAPHIQL_ASSETS}${version}/${name}`;
  const config = {
    options,
    endpoint: options.endpoint ?? '/graphql',
    tokenPattern: SECRET_PATTERN.source,
    workers: { editorWorkerService: asset('editor.worker.js'), json: asset('json.worker.js'), graphql: asset('graphql.worker.js') },
  };
  const title = escapeHtml(options.title ?? 'GraphiQL');
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>${title}</title>
    <link rel="icon" href="${asset('favicon.ico')}" />
    <link rel="stylesheet" href="${asset('graphiql.css')}" />
    <script type="application/json" id="graphiql-config">${JSON.stringify(config).replace(/</g, '\\u003c')}</script>
    <script src="${asset('graphiql.js')}" defer></script>
    <script src="${asset('start.js')}" defer></script>
  </head>
  <body class="no-focus-outline">
    <noscript>${title} needs JavaScript.</noscript>
    <div id="root"></div>
  </body>
</html>
`;
}

/** Answers GET and HEAD under GRAPHIQL_ASSETS: the current version's files, 404 for anything else. */
export async function serveGraphiQLAsset(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
  const { version, assets } = await bundle();
  const [requested, name] = path.slice(GRAPHIQL_ASSETS.length).split('/', 3);
  const asset = requested === version ? assets.get(name) : undefined;
  if (!asset || path !== `${GRAPHIQL_ASSETS}${requested}/${name}`) return sendError(res, 404, 'NOT_FOUND', 'no such GraphiQL asset');
  // `gzip` listed, and not refused with a zero weight (`gzip;q=0`).
  const gzipped = /(?:^|,)\s*gzip\s*(?:,|$|;\s*q=(?!0(?:\.0*)?\s*(?:,|$))[\d.]+)/i.test(String(req.headers['accept-encoding'] ?? ''));
  const body = gzipped ? await (asset.gzipped ??= promisify(gzip)(asset.body)) : asset.body;
  res.writeHead(200, {
    'content-type': asset.type,
    'content-length': body.length,
    'cache-control': IMMUTABLE,
    vary: 'Origin, Accept-Encoding',
    ...(gzipped ? { 'content-encoding': 'gzip' } : {}),
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}
