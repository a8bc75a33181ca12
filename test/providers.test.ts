import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { OutboundPolicy } from '../src/outbound/policy.js';
import { validateGit } from '../src/providers/git.js';
import { validateHetzner } from '../src/providers/hetzner.js';
import { ovhEndpointUrl, validateOvh } from '../src/providers/ovh.js';
import { parseRegistryUrl, validateRegistry } from '../src/providers/registry.js';
import { ProviderInputError, type ProviderOptions, type ValidationResult } from '../src/providers/types.js';
import { startFakeBitbucket } from './fakes/bitbucket.js';
import { startFakeGitHub } from './fakes/github.js';
import { startFakeGitLab } from './fakes/gitlab.js';
import { startFakeHelmRepo } from './fakes/helm-repo.js';
import { startFakeHetzner } from './fakes/hetzner.js';
import { startFakeOciRegistry } from './fakes/oci-registry.js';
import { startFakeOvh } from './fakes/ovh.js';
import { refusedPort, sendJson, startFakeServer, type FakeServer } from './fakes/server.js';

// The fakes listen on 127.0.0.1: these checks run as under SCOPEGATE_ALLOW_PRIVATE_TARGETS=true.
const PRIVATE_OPEN: OutboundPolicy = { allowPrivate: true, allow: { hosts: [], ranges: [] } };
const CLOSED: OutboundPolicy = { allowPrivate: false, allow: { hosts: [], ranges: [] } };
const opts: ProviderOptions = { timeoutMs: 5_000, policy: PRIVATE_OPEN };
// Generous against a loaded machine: the request must reach the fake before the deadline.
const SHORT_TIMEOUT_MS = 1_000;

/** Asserts the outcome, and that no message ever carries a secret. */
function expectResult(
  result: ValidationResult | null,
  expected: { status: ValidationResult['status']; httpStatus?: number; message?: RegExp },
  secrets: string[],
): void {
  expect(result).not.toBeNull();
  expect(result!.status).toBe(expected.status);
  if (expected.httpStatus !== undefined) expect(result).toHaveProperty('httpStatus', expected.httpStatus);
  if (expected.status !== 'INVALID') expect(result).not.toHaveProperty('httpStatus');
  if (expected.message) expect(result!.message).toMatch(expected.message);
  for (const secret of secrets) expect(result!.message).not.toContain(secret);
}

/**
 * Runs a check against a fake that never answers: the request reaches it, the deadline ends
 * the check (UNREACHABLE, our words), and the client hangs up (the fake never does).
 */
async function expectTimeout(fake: FakeServer, run: (o: ProviderOptions) => Promise<ValidationResult | null>, secrets: string[]) {
  const seen = fake.requests.length;
  fake.silent = true;
  try {
    const result = await run({ ...opts, timeoutMs: SHORT_TIMEOUT_MS });
    expectResult(result, { status: 'UNREACHABLE', message: new RegExp(`did not answer within ${SHORT_TIMEOUT_MS} ms`) }, secrets);
    expect(fake.requests.length).toBe(seen + 1);
    await expect.poll(() => fake.openConnections, { timeout: 10_000 }).toBe(0);
  } finally {
    fake.silent = false;
  }
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const fakes: FakeServer[] = [];
afterAll(async () => {
  await Promise.all(fakes.map((f) => f.close()));
});
function track<T extends FakeServer>(fake: T): T {
  fakes.push(fake);
  return fake;
}

describe('Hetzner', () => {
  const token = 'hcloud-good-token-0123456789';
  const readonly = 'hcloud-readonly-token-0123456789';
  const wrong = 'hcloud-wrong-token-0123456789';
  let fake: Awaited<ReturnType<typeof startFakeHetzner>>;
  beforeAll(async () => {
    fake = track(await startFakeHetzner({ tokens: [token], forbiddenTokens: [readonly] }));
  });
  afterEach(() => {
    fake.failStatus = undefined;
  });

  it('accepts a valid token with an authenticated GET', async () => {
    expectResult(await validateHetzner(fake.url, token, opts), { status: 'VALID' }, [token]);
    const request = fake.requests.at(-1)!;
    expect(request.path).toBe('/v1/servers?per_page=1');
    expect(request.headers.authorization).toBe(`Bearer ${token}`);
  });

  it('reports a wrong token as INVALID 401', async () => {
    expectResult(
      await validateHetzner(fake.url, wrong, opts),
      { status: 'INVALID', httpStatus: 401, message: /rejected the credentials.*revoked or expired/ },
      [wrong],
    );
  });

  it('reports a token without permission as INVALID 403', async () => {
    expectResult(
      await validateHetzner(fake.url, readonly, opts),
      { status: 'INVALID', httpStatus: 403, message: /Read & Write/ },
      [readonly],
    );
  });

  it('reports a 5xx as UNREACHABLE', async () => {
    fake.failStatus = 503;
    expectResult(await validateHetzner(fake.url, token, opts), { status: 'UNREACHABLE', message: /HTTP 503/ }, [token]);
  });

  it('gives up after the timeout', async () => {
    await expectTimeout(fake, (o) => validateHetzner(fake.url, token, o), [token]);
  });

  it('reports a refused connection as UNREACHABLE', async () => {
    const url = `http://127.0.0.1:${await refusedPort()}/v1`;
    expectResult(await validateHetzner(url, token, opts), { status: 'UNREACHABLE', message: /Could not connect to/ }, [token]);
  });
});

describe('OVH', () => {
  const keys = {
    applicationKey: 'ovh-app-key-1234',
    applicationSecret: 'ovh-app-secret-abcdef123456',
    consumerKey: 'ovh-consumer-key-abcdef123456',
    projectId: '0123456789abcdef0123456789abcdef',
  };
  const secrets = [keys.applicationSecret, keys.consumerKey];
  let fake: Awaited<ReturnType<typeof startFakeOvh>>;
  beforeAll(async () => {
    // The fake's clock runs an hour ahead: only a client that uses /auth/time passes.
    fake = track(await startFakeOvh({ ...keys, clockOffsetSeconds: 3600 }));
  });
  afterEach(() => {
    fake.cloudGranted = true;
  });

  it('maps the endpoints to their API URLs', () => {
    expect(ovhEndpointUrl('OVH_EU')).toBe('https://eu.api.ovh.com/1.0');
    expect(ovhEndpointUrl('OVH_CA')).toBe('https://ca.api.ovh.com/1.0');
    expect(ovhEndpointUrl('OVH_US')).toBe('https://api.us.ovhcloud.com/1.0');
  });

  it('accepts valid keys: server time, signed credential check, project check', async () => {
    fake.requests.length = 0;
    expectResult(await validateOvh(fake.url, keys, opts), { status: 'VALID', message: new RegExp(keys.projectId) }, secrets);
    expect(fake.requests.map((r) => r.path)).toEqual([
      '/1.0/auth/time',
      '/1.0/auth/currentCredential',
      `/1.0/cloud/project/${keys.projectId}`,
    ]);
    expect(fake.requests[0].headers['x-ovh-signature']).toBeUndefined();
    expect(fake.requests[1].headers['x-ovh-signature']).toMatch(/^\$1\$[0-9a-f]{40}$/);
    expect(fake.requests[1].headers['x-ovh-application']).toBe(keys.applicationKey);
  });

  it('is rejected by the signature check when the application secret is wrong', async () => {
    const wrongSecret = 'ovh-wrong-secret-zyxwvu987654';
    const result = await validateOvh(fake.url, { ...keys, applicationSecret: wrongSecret }, opts);
    expectResult(result, { status: 'INVALID', httpStatus: 400, message: /signature.*application secret/ }, [
      wrongSecret,
      keys.consumerKey,
    ]);
  });

  it('reports an unknown consumer key as INVALID 403', async () => {
    const wrongConsumer = 'ovh-unknown-consumer-987654';
    const result = await validateOvh(fake.url, { ...keys, consumerKey: wrongConsumer }, opts);
    expectResult(result, { status: 'INVALID', httpStatus: 403, message: /consumer key is unknown, expired/ }, [
      keys.applicationSecret,
      wrongConsumer,
    ]);
  });

  it('reports an unknown application key as INVALID 403', async () => {
    const result = await validateOvh(fake.url, { ...keys, applicationKey: 'nope' }, opts);
    expectResult(result, { status: 'INVALID', httpStatus: 403, message: /application key is unknown/ }, secrets);
  });

  it('reports a project the keys cannot see as INVALID 404', async () => {
    const result = await validateOvh(fake.url, { ...keys, projectId: 'ffffffffffffffffffffffffffffffff' }, opts);
    expectResult(result, { status: 'INVALID', httpStatus: 404, message: /Project f+ is not reachable with these keys/ }, secrets);
  });

  it('reports keys not granted /cloud/project as INVALID 403', async () => {
    fake.cloudGranted = false;
    const result = await validateOvh(fake.url, keys, opts);
    expectResult(result, { status: 'INVALID', httpStatus: 403, message: /not reachable with these keys.*\/cloud\/project/ }, secrets);
  });

  it('gives up after the timeout', async () => {
    await expectTimeout(fake, (o) => validateOvh(fake.url, keys, o), secrets);
  });

  it('reports a refused connection as UNREACHABLE', async () => {
    const url = `http://127.0.0.1:${await refusedPort()}/1.0`;
    expectResult(await validateOvh(url, keys, opts), { status: 'UNREACHABLE', message: /Could not connect to/ }, secrets);
  });
});

describe('GitHub', () => {
  const token = 'ghp_goodtoken0123456789';
  const forbidden = 'ghp_forbidden0123456789';
  const wrong = 'ghp_wrongtoken0123456789';
  let fake: Awaited<ReturnType<typeof startFakeGitHub>>;
  const urls = () => ({ github: fake.url, gitlab: 'http://127.0.0.1:9/unused' });
  beforeAll(async () => {
    fake = track(await startFakeGitHub({ tokens: { [token]: 'octocat' }, forbiddenTokens: [forbidden] }));
  });

  it('accepts a valid token, without quoting the account name from the answer', async () => {
    const result = await validateGit('GITHUB', { token }, urls(), opts);
    expectResult(result, { status: 'VALID', message: /^GitHub accepted the token\.$/ }, [token]);
    expect(result!.sentTo).toEqual([new URL(fake.url).host]);
    const request = fake.requests.at(-1)!;
    expect(request.path).toBe('/user');
    expect(request.headers.authorization).toBe(`Bearer ${token}`);
    expect(request.headers.accept).toBe('application/vnd.github+json');
  });

  it('reports a wrong token as INVALID 401 in our words, not what GitHub said', async () => {
    const result = await validateGit('GITHUB', { token: wrong }, urls(), opts);
    expectResult(result, { status: 'INVALID', httpStatus: 401, message: /rejected the credentials \(HTTP 401\)/ }, [wrong]);
    expect(result!.message).not.toMatch(/Bad credentials/);
  });

  it('reports a token without access as INVALID 403', async () => {
    const result = await validateGit('GITHUB', { token: forbidden }, urls(), opts);
    expectResult(result, { status: 'INVALID', httpStatus: 403, message: /scopes or permissions/ }, [forbidden]);
  });

  it('gives up after the timeout', async () => {
    await expectTimeout(fake, (o) => validateGit('GITHUB', { token }, urls(), o), [token]);
  });

  it('reports a refused connection as UNREACHABLE', async () => {
    const github = `http://127.0.0.1:${await refusedPort()}`;
    const result = await validateGit('GITHUB', { token }, { github, gitlab: github }, opts);
    expectResult(result, { status: 'UNREACHABLE', message: /Could not connect to/ }, [token]);
  });
});

describe('GitLab', () => {
  const token = 'glpat-goodtoken0123456789';
  const expired = 'glpat-expired0123456789';
  const noScope = 'glpat-noscope0123456789';
  const wrong = 'glpat-wrong0123456789';
  let fake: Awaited<ReturnType<typeof startFakeGitLab>>;
  const urls = () => ({ github: 'http://127.0.0.1:9/unused', gitlab: fake.url });
  beforeAll(async () => {
    fake = track(
      await startFakeGitLab({ tokens: { [token]: 'jdoe' }, expiredTokens: [expired], insufficientScopeTokens: [noScope] }),
    );
  });

  it('accepts a valid token', async () => {
    const result = await validateGit('GITLAB', { token }, urls(), opts);
    expectResult(result, { status: 'VALID', message: /^GitLab accepted the token\.$/ }, [token]);
    expect(fake.requests.at(-1)!.headers['private-token']).toBe(token);
    expect(fake.requests.at(-1)!.path).toBe('/api/v4/user');
  });

  it('reports a wrong token as INVALID 401', async () => {
    const result = await validateGit('GITLAB', { token: wrong }, urls(), opts);
    expectResult(result, { status: 'INVALID', httpStatus: 401 }, [wrong]);
  });

  it('an expired token is INVALID 401 with our hint, not GitLab\'s error_description', async () => {
    const result = await validateGit('GITLAB', { token: expired }, urls(), opts);
    expectResult(result, { status: 'INVALID', httpStatus: 401, message: /revoked or expired/ }, [expired]);
    expect(result!.message).not.toMatch(/Token is expired|re-authorization/);
  });

  it('reports a token without the needed scope as INVALID 403', async () => {
    const result = await validateGit('GITLAB', { token: noScope }, urls(), opts);
    expectResult(result, { status: 'INVALID', httpStatus: 403, message: /scopes or permissions/ }, [noScope]);
    expect(result!.message).not.toMatch(/higher privileges/);
  });

  it('gives up after the timeout', async () => {
    await expectTimeout(fake, (o) => validateGit('GITLAB', { token }, urls(), o), [token]);
  });

  it('reports a refused connection as UNREACHABLE', async () => {
    const gitlab = `http://127.0.0.1:${await refusedPort()}/api/v4`;
    const result = await validateGit('GITLAB', { token }, { github: gitlab, gitlab }, opts);
    expectResult(result, { status: 'UNREACHABLE', message: /Could not connect to/ }, [token]);
  });
});

// Self-hosted servers are asked over https only: these fakes serve it on other loopback
// addresses, with a certificate the test runs trust (test/fakes/tls). Bitbucket Cloud's API
// URL is configurable like GitHub's and GitLab's, so its fake speaks plain http.
const NO_PUBLIC_API = { github: 'http://127.0.0.1:9/unused', gitlab: 'http://127.0.0.1:9/unused', bitbucket: 'http://127.0.0.1:9/unused' };
const GIT_GOOD = 'git-good-token-0123456789';
const GIT_WRONG = 'git-wrong-token-0123456789';

const gitServers = [
  {
    name: 'GitHub Enterprise Server',
    start: () => startFakeGitHub({ tokens: { [GIT_GOOD]: 'octocat' }, host: '127.0.0.2', tls: true }),
    check: (fake: FakeServer, token: string, o: ProviderOptions) => validateGit('GITHUB', { host: fake.host, token }, NO_PUBLIC_API, o),
    service: (fake: FakeServer) => `GitHub (${fake.host})`,
    path: '/api/v3/user',
    sentAuth: (token: string) => ({ authorization: `Bearer ${token}` }),
  },
  {
    name: 'self-hosted GitLab',
    start: () => startFakeGitLab({ tokens: { [GIT_GOOD]: 'tanuki' }, host: '127.0.0.2', tls: true }),
    check: (fake: FakeServer, token: string, o: ProviderOptions) => validateGit('GITLAB', { host: fake.host, token }, NO_PUBLIC_API, o),
    service: (fake: FakeServer) => `GitLab (${fake.host})`,
    path: '/api/v4/user',
    sentAuth: (token: string) => ({ 'private-token': token }),
  },
  {
    name: 'Bitbucket Cloud',
    start: () => startFakeBitbucket({ users: { 'bb-user': GIT_GOOD } }),
    check: (fake: FakeServer, token: string, o: ProviderOptions) =>
      validateGit('BITBUCKET', { username: 'bb-user', token }, { ...NO_PUBLIC_API, bitbucket: `${fake.origin}/2.0` }, o),
    service: () => 'Bitbucket',
    path: '/2.0/user',
    sentAuth: (token: string) => ({ authorization: `Basic ${Buffer.from(`bb-user:${token}`).toString('base64')}` }),
  },
];

describe.each(gitServers)('$name', ({ start, check, service, path, sentAuth }) => {
  let fake: FakeServer;
  let elsewhere: FakeServer;
  beforeAll(async () => {
    fake = track(await start());
    elsewhere = track(await startFakeServer((_req, res) => sendJson(res, 200, {}), 0, '127.0.0.3'));
  });

  it('accepts a valid token, asking the current user with it', async () => {
    const result = await check(fake, GIT_GOOD, opts);
    expectResult(result, { status: 'VALID', message: new RegExp(`^${escape(service(fake))} accepted the token\\.$`) }, [GIT_GOOD]);
    expect(result!.sentTo).toEqual([fake.host]);
    const request = fake.requests.at(-1)!;
    expect(request.path).toBe(path);
    expect(request.headers).toMatchObject(sentAuth(GIT_GOOD));
  });

  it('reports a wrong token as INVALID 401', async () => {
    const result = await check(fake, GIT_WRONG, opts);
    expectResult(result, { status: 'INVALID', httpStatus: 401, message: /rejected the credentials \(HTTP 401\)/ }, [GIT_WRONG]);
  });

  it('gives up after the timeout', async () => {
    await expectTimeout(fake, (o) => check(fake, GIT_GOOD, o), [GIT_GOOD]);
  });

  it('follows a redirect within the same scheme, host and port', async () => {
    fake.redirects.set(path, `${path}?moved=1`);
    try {
      expectResult(await check(fake, GIT_GOOD, opts), { status: 'VALID' }, [GIT_GOOD]);
    } finally {
      fake.redirects.clear();
    }
    expect(fake.requests.slice(-2).map((r) => r.path)).toEqual([path, `${path}?moved=1`]);
    expect(fake.requests.at(-1)!.headers).toMatchObject(sentAuth(GIT_GOOD));
  });

  it('refuses a redirect to another host or to cloud metadata: nothing is sent there', async () => {
    for (const location of [`${elsewhere.origin}${path}`, 'http://169.254.169.254/latest/meta-data/']) {
      fake.redirects.set(path, location);
      try {
        const result = await check(fake, GIT_GOOD, opts);
        expectResult(result, { status: 'UNREACHABLE', message: /redirected to another address; scopegate follows redirects only within the same scheme, host and port\.$/ }, [GIT_GOOD]);
        expect(result!.sentTo).toEqual([fake.host]);
      } finally {
        fake.redirects.clear();
      }
    }
    expect(elsewhere.connections).toBe(0);
  });
});

describe('Git providers: what cannot be checked, and what is never repeated', () => {
  const urls = NO_PUBLIC_API;

  it('a self-hosted server that does not speak https is UNREACHABLE, the token never sent', async () => {
    // Self-hosted means https: the handshake with a plain http server fails before any request is written.
    const plain = track(await startFakeGitHub({ tokens: { [GIT_GOOD]: 'octocat' }, host: '127.0.0.2' }));
    const result = await validateGit('GITHUB', { host: plain.host, token: GIT_GOOD }, urls, opts);
    expectResult(result, { status: 'UNREACHABLE', message: /Could not connect to GitHub/ }, [GIT_GOOD]);
    expect(plain.requests).toEqual([]);
    expect(result!.sentTo).toEqual([]);
  });

  it('needs a username for Bitbucket Cloud; self-hosted Bitbucket and GENERIC servers are not checked (null)', async () => {
    await expect(validateGit('BITBUCKET', { token: 'x' }, urls, opts)).rejects.toThrow(ProviderInputError);
    expect(await validateGit('BITBUCKET', { host: 'bitbucket.example.com', username: 'u', token: 'x' }, urls, opts)).toBeNull();
    expect(await validateGit('GENERIC', { host: 'git.example.com', token: 'x' }, urls, opts)).toBeNull();
  });

  it('refuses a host that is not just a host name', async () => {
    for (const host of ['https://gitlab.example.com', 'gitlab.example.com/path', 'user@gitlab.example.com']) {
      await expect(validateGit('GITLAB', { host, token: 'x' }, urls, opts)).rejects.toThrow(/give only the host name/);
    }
  });

  it('never repeats what a provider said, even a secret it echoes back', async () => {
    const token = 'ghp_echoedsecret0123456789';
    const echoing = track(
      await startFakeServer((_req, res) => {
        res.writeHead(401, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ message: `token ${token} is not valid`, error_description: 'provider-words-1', errors: [{ message: 'provider-words-2' }] }));
      }),
    );
    const result = await validateGit('GITHUB', { token }, { ...urls, github: echoing.origin }, opts);
    expectResult(result, { status: 'INVALID', httpStatus: 401, message: /^GitHub rejected the credentials \(HTTP 401\): check that/ }, [token]);
    expect(result!.message).not.toMatch(/not valid|provider-words/);
  });
});

describe('registry URLs', () => {
  it('tells HTTP repositories from OCI registries and normalises them', () => {
    expect(parseRegistryUrl('https://charts.example.com/', CLOSED).kind).toBe('HTTP');
    expect(parseRegistryUrl('oci://ghcr.io/org/charts/', CLOSED)).toEqual({
      kind: 'OCI',
      url: 'oci://ghcr.io/org/charts',
      host: 'ghcr.io',
      httpBase: 'https://ghcr.io',
      repository: 'org/charts',
    });
    expect(parseRegistryUrl('oci://ghcr.io', CLOSED)).not.toHaveProperty('repository');
  });

  it('uses plain http for an OCI registry only where the policy opens it', () => {
    expect(parseRegistryUrl('oci://127.0.0.1:5000/charts', PRIVATE_OPEN).httpBase).toBe('http://127.0.0.1:5000');
    const listed: OutboundPolicy = { allowPrivate: false, allow: { hosts: ['registry.internal'], ranges: [] } };
    expect(parseRegistryUrl('oci://registry.internal/charts', listed).httpBase).toBe('http://registry.internal');
    expect(parseRegistryUrl('oci://registry.internal/charts', PRIVATE_OPEN).httpBase).toBe('https://registry.internal');
    expect(parseRegistryUrl('http://127.0.0.1:8080/charts', PRIVATE_OPEN).kind).toBe('HTTP');
  });

  it('refuses what it cannot use, without echoing the URL', () => {
    const cases: Array<[string, RegExp, OutboundPolicy?]> = [
      ['not a url', /not a valid URL/],
      ['http://charts.example.com', /over plain http: use https, or list the host in SCOPEGATE_OUTBOUND_ALLOW/],
      ['http://localhost:8080/charts', /over plain http/, PRIVATE_OPEN],
      ['oci://127.0.0.1:5000/charts', /internal .*SCOPEGATE_OUTBOUND_ALLOW/],
      ['https://169.254.169.254/latest', /link-local, cloud metadata/, PRIVATE_OPEN],
      ['ftp://charts.example.com', /must start with https:\/\/ or oci:\/\//],
      ['https://user:hunter2secret@charts.example.com', /must not contain credentials/],
      ['https://charts.example.com/?token=abc', /query/],
      ['https://charts.example.com/#frag', /fragment/],
      ['oci://ghcr.io/Org/Charts', /path of an OCI registry URL must be a repository name/],
      ['oci://ghcr.io/org//charts', /must be a repository name/],
    ];
    for (const [url, message, policy = CLOSED] of cases) {
      let error: unknown;
      try {
        parseRegistryUrl(url, policy);
      } catch (err) {
        error = err;
      }
      expect(error, url).toBeInstanceOf(ProviderInputError);
      expect((error as Error).message).toMatch(message);
      expect((error as Error).message).not.toContain('hunter2secret');
    }
  });
});

describe('OCI registry', () => {
  const password = 'oci-password-0123456789';
  const outsider = 'oci-outsider-password-0123456789';
  const helmer = 'oci-helmer-password-0123456789';
  let fake: Awaited<ReturnType<typeof startFakeOciRegistry>>;
  const url = (path: string) => `oci://${fake.host}/${path}`;
  const claimsOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));
  beforeAll(async () => {
    fake = track(
      await startFakeOciRegistry({
        // robot may pull everything; outsider only its own repository; helmer the acme namespace (a Harbor project).
        users: { robot: password, outsider, helmer },
        pullRights: { outsider: ['outsider/app'], helmer: ['acme/'] },
        repositories: { charts: ['0.1.0'], 'outsider/app': ['1.0.0'], 'acme/charts/app': ['2.0.0'] },
      }),
    );
  });
  afterEach(() => {
    fake.mode = 'bearer';
  });

  it('does the bearer token dance for the repository and accepts a login with pull access', async () => {
    fake.requests.length = 0;
    const result = await validateRegistry(fake.url, { username: 'robot', password }, opts);
    expectResult(result, { status: 'VALID', message: /accepted the credentials, with pull access to charts\.$/ }, [password]);
    expect(result.sentTo).toEqual([fake.host]);
    expect(fake.requests.map((r) => r.path)).toEqual([
      '/v2/',
      '/token?service=fake-registry&scope=repository%3Acharts%3Apull',
      '/v2/',
      '/v2/charts/tags/list?n=1',
    ]);
    const token = fake.requests[3].headers.authorization!.replace(/^Bearer /, '');
    expect(claimsOf(token).access).toEqual([{ type: 'repository', name: 'charts', actions: ['pull'] }]);
  });

  it('accepts valid credentials where the registry takes basic auth itself', async () => {
    fake.mode = 'basic';
    fake.requests.length = 0;
    const result = await validateRegistry(fake.url, { username: 'robot', password }, opts);
    expectResult(result, { status: 'VALID', message: /with pull access to charts/ }, [password]);
    expect(fake.requests.map((r) => r.path)).toEqual(['/v2/', '/v2/charts/tags/list?n=1']);
  });

  it('a good login without pull rights on the repository gets a token, and "no pull access to <repo>", in both modes', async () => {
    for (const mode of ['bearer', 'basic'] as const) {
      fake.mode = mode;
      const result = await validateRegistry(fake.url, { username: 'outsider', password: outsider }, opts);
      const httpStatus = mode === 'bearer' ? 401 : 403;
      expectResult(result, { status: 'INVALID', httpStatus, message: /accepted the login but gives it no pull access to charts \(HTTP 40[13]\)/ }, [outsider]);
      expect(result.message).not.toMatch(/rejected the credentials/);
    }
    // The token service said yes and granted nothing: the refusal came from the repository.
    const token = [...fake.issuedTokens].at(-1)!;
    expect(token[1]).toEqual([]);
    expect(claimsOf(token[0]).sub).toBe('outsider');
    // Its own repository it may pull.
    fake.mode = 'bearer';
    expectResult(await validateRegistry(url('outsider/app'), { username: 'outsider', password: outsider }, opts), { status: 'VALID', message: /pull access to outsider\/app/ }, [outsider]);
  });

  it('a namespace the login may pull from, holding charts below it, is VALID without a pull check of its own', async () => {
    const result = await validateRegistry(url('acme/charts'), { username: 'helmer', password: helmer }, opts);
    expectResult(result, { status: 'VALID', message: /acme\/charts has no tags of its own .*pull access was not checked/ }, [helmer]);
    expect(fake.requests.at(-1)!.path).toBe('/v2/acme/charts/tags/list?n=1');
  });

  it('a bare registry host is checked at /v2/ only', async () => {
    fake.requests.length = 0;
    const result = await validateRegistry(`oci://${fake.host}`, { username: 'robot', password }, opts);
    expectResult(result, { status: 'VALID', message: /accepted the credentials\.$/ }, [password]);
    expect(fake.requests.map((r) => r.path)).toEqual(['/v2/', '/token?service=fake-registry', '/v2/']);
  });

  it('reports a wrong password as INVALID 401 (rejected credentials, not pull access), in both modes', async () => {
    const wrong = 'oci-wrong-password-0123456789';
    for (const mode of ['bearer', 'basic'] as const) {
      fake.mode = mode;
      const before = fake.requests.length;
      const result = await validateRegistry(fake.url, { username: 'robot', password: wrong }, opts);
      expectResult(result, { status: 'INVALID', httpStatus: 401, message: /rejected the credentials/ }, [wrong]);
      expect(result.message).not.toMatch(/authentication required|pull access/);
      expect(fake.requests.slice(before).some((r) => r.path.includes('/tags/list'))).toBe(false);
    }
  });

  it('gives up after the timeout', async () => {
    await expectTimeout(fake, (o) => validateRegistry(fake.url, { username: 'robot', password }, o), [password]);
  });

  it('reports a refused connection as UNREACHABLE', async () => {
    const url = `oci://127.0.0.1:${await refusedPort()}/charts`;
    const result = await validateRegistry(url, { username: 'robot', password }, opts);
    expectResult(result, { status: 'UNREACHABLE', message: /Could not connect to/ }, [password]);
  });
});

describe('Helm HTTP repository', () => {
  const password = 'helm-password-0123456789';
  const denied = 'helm-denied-password-0123456789';
  let fake: Awaited<ReturnType<typeof startFakeHelmRepo>>;
  beforeAll(async () => {
    fake = track(await startFakeHelmRepo({ users: { alice: password, bob: denied }, deniedUsers: ['bob'] }));
  });

  it('accepts valid credentials when index.yaml is served', async () => {
    const result = await validateRegistry(fake.url, { username: 'alice', password }, opts);
    expectResult(result, { status: 'VALID' }, [password]);
    expect(fake.requests.at(-1)!.path).toBe('/charts/index.yaml');
  });

  it('reports a wrong password as INVALID 401', async () => {
    const wrong = 'helm-wrong-password-0123456789';
    const result = await validateRegistry(fake.url, { username: 'alice', password: wrong }, opts);
    expectResult(result, { status: 'INVALID', httpStatus: 401 }, [wrong]);
  });

  it('reports a user without access as INVALID 403', async () => {
    const result = await validateRegistry(fake.url, { username: 'bob', password: denied }, opts);
    expectResult(result, { status: 'INVALID', httpStatus: 403 }, [denied]);
  });

  it('reports a URL without index.yaml as INVALID 404, and a non-Helm index as INVALID', async () => {
    const missing = await validateRegistry(`${fake.origin}/elsewhere`, { username: 'alice', password }, opts);
    expectResult(missing, { status: 'INVALID', httpStatus: 404, message: /no index\.yaml/ }, [password]);
    fake.index = '<html>hello</html>';
    const notHelm = await validateRegistry(fake.url, { username: 'alice', password }, opts);
    fake.index = 'apiVersion: v1\nentries: {}\n';
    expectResult(notHelm, { status: 'INVALID', httpStatus: 200, message: /not a Helm chart repository/ }, [password]);
  });

  it('refuses a redirect to another origin: the other origin receives nothing', async () => {
    const redirector = track(
      await startFakeServer((req, res) => {
        res.writeHead(302, { Location: `${fake.url}/index.yaml` });
        res.end();
      }),
    );
    fake.requests.length = 0;
    const result = await validateRegistry(`${redirector.origin}/charts`, { username: 'alice', password }, opts);
    expect(redirector.requests[0].headers.authorization).toMatch(/^Basic /);
    expect(fake.requests).toEqual([]);
    expectResult(result, { status: 'UNREACHABLE', message: /redirected to another address; scopegate follows redirects only within the same scheme, host and port\.$/ }, [password]);
    expect(result.sentTo).toEqual([new URL(redirector.origin).host]);
  });

  it('gives up after the timeout', async () => {
    await expectTimeout(fake, (o) => validateRegistry(fake.url, { username: 'alice', password }, o), [password]);
  });

  it('reports a refused connection as UNREACHABLE', async () => {
    const url = `http://127.0.0.1:${await refusedPort()}/charts`;
    const result = await validateRegistry(url, { username: 'alice', password }, opts);
    expectResult(result, { status: 'UNREACHABLE', message: /Could not connect to/ }, [password]);
  });
});
