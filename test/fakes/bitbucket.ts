/**
 * Fake Bitbucket Cloud REST API 2.0: GET /2.0/user with Basic auth of username and app password
 * (or Atlassian account e-mail and API token), errors shaped like Bitbucket's.
 */
import { basicAuthOf, sendJson, startFakeServer, type FakeServer } from './server.js';

export interface FakeBitbucket extends FakeServer {
  /** API base URL, like https://api.bitbucket.org/2.0 */
  url: string;
  /** username -> app password */
  users: Map<string, string>;
}

export async function startFakeBitbucket(opts: { users?: Record<string, string>; host?: string } = {}) {
  const server = await startFakeServer((req, res, url) => {
    const login = basicAuthOf(req);
    if (!login || fake.users.get(login.username) !== login.password) {
      return sendJson(res, 401, { type: 'error', error: { message: 'Unauthorized' } }, { 'WWW-Authenticate': 'Basic realm="Bitbucket.org HTTP"' });
    }
    if (req.method === 'GET' && url.pathname === '/2.0/user') {
      return sendJson(res, 200, { type: 'user', username: login.username, display_name: login.username, account_id: '557058:fake' });
    }
    return sendJson(res, 404, { type: 'error', error: { message: 'Resource not found' } });
  }, 0, opts.host);

  const fake: FakeBitbucket = Object.assign(server, {
    url: `${server.origin}/2.0`,
    users: new Map(Object.entries(opts.users ?? {})),
  });
  return fake;
}
