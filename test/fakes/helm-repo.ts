/** Fake Helm HTTP chart repository: index.yaml behind basic auth. */
import { basicAuthOf, startFakeServer, type FakeServer } from './server.js';

export interface FakeHelmRepo extends FakeServer {
  /** Repository URL, like https://charts.example.com/charts */
  url: string;
  /** username -> password */
  users: Map<string, string>;
  /** Users whose credentials are right but who may not read the repository (403). */
  deniedUsers: Set<string>;
  /** What /charts/index.yaml serves. */
  index: string;
}

const INDEX = `apiVersion: v1
entries:
  demo:
    - name: demo
      version: 1.0.0
      urls: [charts/demo-1.0.0.tgz]
generated: "2026-01-01T00:00:00Z"
`;

export async function startFakeHelmRepo(opts: { users?: Record<string, string>; deniedUsers?: string[]; latencyMs?: number; host?: string } = {}) {
  const server = await startFakeServer((req, res, url) => {
    const login = basicAuthOf(req);
    if (!login || fake.users.get(login.username) !== login.password) {
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="charts"', 'Content-Type': 'text/plain' });
      return res.end('401 Unauthorized\n');
    }
    if (fake.deniedUsers.has(login.username)) {
      res.writeHead(403, { 'Content-Type': 'text/plain' });
      return res.end('403 Forbidden\n');
    }
    if (req.method === 'GET' && url.pathname === '/charts/index.yaml') {
      res.writeHead(200, { 'Content-Type': 'application/x-yaml' });
      return res.end(fake.index);
    }
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    res.end('404 page not found\n');
  }, opts.latencyMs, opts.host);

  const fake: FakeHelmRepo = Object.assign(server, {
    url: `${server.origin}/charts`,
    users: new Map(Object.entries(opts.users ?? {})),
    deniedUsers: new Set(opts.deniedUsers ?? []),
    index: INDEX,
  });
  return fake;
}
