/**
 * The outbound guard (issue 7, findings 6 and 7), through the real server and fakes that
 * speak the real protocols: which destinations a check may reach under each setting,
 * redirects, what of a provider's answer reaches anyone (nothing), and a stored secret sent
 * to a host it never went to before, audited like a reveal.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import { openSession } from '../src/outbound/client.js';
import { classify, parseAllowList } from '../src/outbound/policy.js';
import { startFakeGitHub, type FakeGitHub } from './fakes/github.js';
import { startFakeHelmRepo, type FakeHelmRepo } from './fakes/helm-repo.js';
import { startFakeHetzner, type FakeHetzner } from './fakes/hetzner.js';
import { startFakeOciRegistry, type FakeOciRegistry } from './fakes/oci-registry.js';
import { basicAuthOf, startFakeServer, type FakeServer } from './fakes/server.js';
import { seedTeam } from './helpers/fixtures.js';
import { expectGqlError, startTestServer, type GqlResponse, type TestServer } from './helpers/server.js';

const NS = 'acme';
const PASSWORD = 'registry-robot-password-4242';
const FIELDS = 'name validationStatus validationMessage';
const M = {
  registryCredential: `mutation($i: CreateRegistryCredentialInput!) { createRegistryCredential(input: $i) { ${FIELDS} } }`,
  updateRegistryCredential: `mutation($i: UpdateRegistryCredentialInput!) { updateRegistryCredential(input: $i) { ${FIELDS} } }`,
  registry: 'mutation($i: CreateRegistryInput!) { createRegistry(input: $i) { name url } }',
  validate: `mutation($i: CredentialRefInput!) { validateCredential(input: $i) { ${FIELDS} } }`,
  hetzner: `mutation($i: CreateHetznerCredentialInput!) { createHetznerCredential(input: $i) { ${FIELDS} } }`,
  ovh: `mutation($i: CreateOvhCredentialInput!) { createOvhCredential(input: $i) { ${FIELDS} } }`,
  git: `mutation($i: CreateGitCredentialInput!) { createGitCredential(input: $i) { ${FIELDS} } }`,
};
const OVH = { applicationKey: 'ovhAppKey1', applicationSecret: 'ovh-application-secret-0000', consumerKey: 'ovh-consumer-key-0000', projectId: 'abc123' };

const fakes: FakeServer[] = [];
const track = <T extends FakeServer>(fake: T): T => {
  fakes.push(fake);
  return fake;
};
afterAll(async () => {
  await Promise.all(fakes.map((f) => f.close()));
});

const hostOf = (fake: FakeServer) => new URL(fake.origin).host;

/** A server with the team acme: its owner olivia, the editor eddie (and the viewer vera). */
async function startWith(env: Record<string, string>) {
  const server = await startTestServer(env);
  const team = await seedTeam(server, NS);
  const [owner, editor] = [team.owner.token, team.editor.token];
  const call = (mutation: string, input: Record<string, unknown>, token = editor) => server.gql(mutation, { i: { namespace: NS, ...input } }, token);
  /** The namespace's trail as its owner reads it, oldest first. */
  const trail = async (filter: Record<string, unknown> = {}) => {
    const data = await server.ok(
      `query($f: AuditEventFilter) { namespace(name: "${NS}") { auditEvents(first: 100, filter: $f) { edges { node { action outcome target actor { name } details } } } } }`,
      { f: filter },
      owner,
    );
    return data.namespace.auditEvents.edges
      .map((e: { node: { details: string | null } }) => ({ ...e.node, details: e.node.details ? JSON.parse(e.node.details) : null }))
      .reverse();
  };
  return { server, owner, editor, call, trail };
}

function expectError(res: GqlResponse, code: string, message?: RegExp) {
  expect(res.errors, JSON.stringify(res.body)).toHaveLength(1);
  return expectGqlError(res, { code, ...(message ? { message } : {}) }).message;
}

const INTERNAL = /internal \(loopback or private network\); list the host in SCOPEGATE_OUTBOUND_ALLOW/;
const NEVER = /link-local, cloud metadata or otherwise reserved, which no setting allows/;

describe('by default: public https only', () => {
  let s: Awaited<ReturnType<typeof startWith>>;
  let helm: FakeHelmRepo;
  let oci: FakeOciRegistry;
  let hetzner: FakeHetzner;

  beforeAll(async () => {
    helm = track(await startFakeHelmRepo({ users: { robot: PASSWORD } }));
    oci = track(await startFakeOciRegistry({ users: { robot: PASSWORD } }));
    hetzner = track(await startFakeHetzner({ tokens: ['hcloud-token-0000'] }));
    s = await startWith({ SCOPEGATE_HETZNER_API_URL: hetzner.url, SCOPEGATE_GITLAB_API_URL: `http://[::ffff:7f00:1]:${new URL(hetzner.origin).port}/api/v4` });
    await s.call(M.registryCredential, { name: 'robot', username: 'robot', password: PASSWORD });
  });
  afterAll(() => s?.server.close());

  it('refuses internal and reserved IP literals in a registry URL at once, naming the setting', async () => {
    const port = new URL(helm.origin).port;
    const internal = [helm.url, oci.url, `https://[::1]:${port}/charts`, `https://[::ffff:127.0.0.1]:${port}/charts`, 'https://10.0.0.1/charts', 'oci://100.64.0.1/charts'];
    for (const [i, url] of internal.entries()) {
      expectError(await s.call(M.registry, { name: `internal-${i}`, url, credential: 'robot' }), 'BAD_USER_INPUT', /^input\.url: /);
      expect((await s.call(M.registry, { name: `internal-${i}`, url })).errors![0].message).toMatch(INTERNAL);
    }
    expectError(await s.call(M.registry, { name: 'metadata', url: 'https://169.254.169.254/charts' }), 'BAD_USER_INPUT', NEVER);
    expect(helm.connections + oci.connections).toBe(0);
  });

  it('refuses a name that resolves to loopback when connecting: nothing reaches the fake, no address is echoed', async () => {
    const url = `https://localhost:${new URL(helm.origin).port}/charts`;
    await s.server.ok(M.registry, { i: { namespace: NS, name: 'local-name', url, credential: 'robot' } }, s.editor);
    const message = expectError(await s.call(M.validate, { name: 'robot' }), 'PROVIDER_UNREACHABLE', INTERNAL);
    expect(message).toMatch(/^registry "local-name": Scopegate does not contact the Helm repository localhost:\d+/);
    expect(message).not.toMatch(/127\.0\.0\.1|::1/);
    expect(helm.connections).toBe(0);
    // Nothing left the server, so nothing was revealed.
    expect(await s.trail({ action: 'credential.reveal' })).toEqual([]);
    expect((await s.trail({ action: 'credential.validate' })).at(-1).details).toMatchObject({ sentTo: [] });
  });

  it('checks an IP literal from the configuration too (it never goes through DNS)', async () => {
    expectError(await s.call(M.hetzner, { name: 'hetzner', apiToken: 'hcloud-token-0000' }), 'PROVIDER_UNREACHABLE', INTERNAL);
    // An IPv4-mapped IPv6 literal is the IPv4 address it maps (here the same fake, by another spelling).
    expectError(await s.call(M.git, { name: 'gitlab-mapped', provider: 'GITLAB', token: 'glpat-token-0000' }), 'PROVIDER_UNREACHABLE', INTERNAL);
    expect(hetzner.connections).toBe(0);
  });

  it('refuses a Git host that is an internal or reserved IP literal as input.host', async () => {
    for (const [i, host] of ['127.0.0.1', '10.1.2.3', '127.0.0.1:8443', '169.254.169.254', '[::1]', '2130706433'].entries()) {
      const res = await s.call(M.git, { name: `git-${i}`, provider: 'GITLAB', host, token: 'glpat-token-0000', skipValidation: true });
      expectError(res, 'BAD_USER_INPUT', /^input\.host: /);
    }
    const named = await s.call(M.git, { name: 'gitlab', provider: 'GITLAB', host: 'gitlab.example.com', token: 'glpat-token-0000', skipValidation: true });
    expect(named.errors).toBeUndefined();
  });
});

describe('with SCOPEGATE_ALLOW_PRIVATE_TARGETS=true', () => {
  let s: Awaited<ReturnType<typeof startWith>>;
  let chatty: FakeServer;
  let github: FakeGitHub;
  const SAID = ['provider-message-7781', 'provider-error-description-7782', 'provider-errors-0-7783', 'provider-error-message-7784'];

  beforeAll(async () => {
    // Refuses everything, with its own words in every field that providers use for them.
    chatty = track(
      await startFakeServer((_req, res) => {
        res.writeHead(401, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ message: SAID[0], error_description: SAID[1], errors: [{ code: 'DENIED', message: SAID[2] }], error: { message: SAID[3] } }));
      }),
    );
    github = track(await startFakeGitHub({ tokens: { 'ghp_token-for-create-0000': 'octocat' } }));
    s = await startWith({
      SCOPEGATE_ALLOW_PRIVATE_TARGETS: 'true',
      SCOPEGATE_HETZNER_API_URL: `${chatty.origin}/v1`,
      SCOPEGATE_GITHUB_API_URL: github.url,
      // A cloud metadata address stays closed even here.
      SCOPEGATE_OVH_API_URL: 'http://169.254.169.254/1.0',
    });
  });
  afterAll(() => s?.server.close());

  /** A registry credential used by one registry at `url`. */
  async function credentialFor(name: string, url: string) {
    await s.server.ok(M.registryCredential, { i: { namespace: NS, name, username: 'robot', password: PASSWORD } }, s.editor);
    await s.server.ok(M.registry, { i: { namespace: NS, name, url, credential: name } }, s.editor);
  }

  it('refuses a redirect to another loopback address: that address receives nothing', async () => {
    const elsewhere = track(await startFakeHelmRepo({ users: { robot: PASSWORD }, host: '127.0.0.2' }));
    const bouncer = track(
      await startFakeServer((_req, res) => {
        res.writeHead(302, { Location: `${elsewhere.url}/index.yaml` });
        res.end();
      }),
    );
    await credentialFor('bounced', `${bouncer.origin}/charts`);
    const message = expectError(await s.call(M.validate, { name: 'bounced' }), 'PROVIDER_UNREACHABLE', /redirected to another address; scopegate follows redirects only within the same scheme, host and port/);
    expect(message).not.toContain('127.0.0.2');
    expect(bouncer.requests).toHaveLength(1);
    expect(elsewhere.connections).toBe(0);
  });

  it('refuses a redirect to plain http on another port of the same host', async () => {
    const otherPort = track(await startFakeHelmRepo({ users: { robot: PASSWORD } }));
    const bouncer = track(
      await startFakeServer((_req, res) => {
        res.writeHead(307, { Location: `${otherPort.url}/index.yaml` });
        res.end();
      }),
    );
    await credentialFor('other-port', `${bouncer.origin}/charts`);
    expectError(await s.call(M.validate, { name: 'other-port' }), 'PROVIDER_UNREACHABLE', /redirected to another address/);
    expect(otherPort.connections).toBe(0);
  });

  it('follows a redirect within the same origin, credentials included', async () => {
    const moved = track(
      await startFakeServer((req, res, url) => {
        if (url.pathname === '/old/index.yaml') {
          res.writeHead(301, { Location: '/charts/index.yaml' });
          return res.end();
        }
        const ok = basicAuthOf(req)?.password === PASSWORD && url.pathname === '/charts/index.yaml';
        res.writeHead(ok ? 200 : 401, { 'Content-Type': 'application/x-yaml' });
        res.end(ok ? 'apiVersion: v1\nentries: {}\n' : '');
      }),
    );
    await credentialFor('moved', `${moved.origin}/old`);
    expect((await s.server.ok(M.validate, { i: { namespace: NS, name: 'moved' } }, s.editor)).validateCredential.validationStatus).toBe('VALID');
    expect(moved.requests.map((r) => r.path)).toEqual(['/old/index.yaml', '/charts/index.yaml']);
    expect(moved.requests.every((r) => basicAuthOf({ headers: r.headers } as never)?.password === PASSWORD)).toBe(true);
  });

  it('still refuses link-local and cloud metadata addresses', async () => {
    const urls = ['https://169.254.169.254/charts', 'https://[fe80::1]/charts', 'oci://[::ffff:169.254.169.254]/charts', 'https://100.100.100.200/x', 'https://[fd00:ec2::254]/x'];
    for (const [i, url] of urls.entries()) expectError(await s.call(M.registry, { name: `never-${i}`, url }), 'BAD_USER_INPUT', NEVER);
    // The same rule when connecting, for an address taken from the configuration.
    expectError(await s.call(M.ovh, { name: 'ovh', ...OVH }), 'PROVIDER_UNREACHABLE', NEVER);
    expectError(await s.call(M.git, { name: 'git-metadata', provider: 'GITHUB', host: '169.254.169.254', token: 'ghp_x-0000' }), 'BAD_USER_INPUT', NEVER);
  });

  it("never lets a provider's words reach validationMessage, an error, the trail or the log", async () => {
    const quoted = (text: string) => SAID.filter((said) => text.includes(said));
    const errors: string[] = [];
    errors.push(expectError(await s.call(M.hetzner, { name: 'hetzner-new', apiToken: 'hcloud-token-1111' }), 'VALIDATION_FAILED', /HTTP 401/));
    await s.server.ok(M.hetzner, { i: { namespace: NS, name: 'hetzner', apiToken: 'hcloud-token-1111', skipValidation: true } }, s.editor);
    errors.push(expectError(await s.call(M.validate, { name: 'hetzner' }), 'VALIDATION_FAILED', /rejected the credentials \(HTTP 401\)/));
    await credentialFor('chatty', `${chatty.origin}/charts`);
    errors.push(expectError(await s.call(M.validate, { name: 'chatty' }), 'VALIDATION_FAILED', /rejected the credentials \(HTTP 401\)/));

    const stored = await s.server.ok(
      `query { namespace(name: "${NS}") { a: credential(name: "hetzner") { validationMessage } b: credential(name: "chatty") { validationMessage } } }`,
      {},
      s.editor,
    );
    expect(stored.namespace.a.validationMessage).toMatch(/HTTP 401/);
    expect(quoted(JSON.stringify(stored))).toEqual([]);
    expect(quoted(errors.join('\n'))).toEqual([]);
    expect(quoted(JSON.stringify(await s.trail()))).toEqual([]);
    expect(quoted(s.server.logs.join('\n'))).toEqual([]);
    expect(chatty.requests.length).toBeGreaterThanOrEqual(3);
  });

  describe('a stored secret leaving the server is audited like a reveal (finding 7)', () => {
    let home: FakeHelmRepo;
    let mirror: FakeHelmRepo;
    let oci: FakeOciRegistry;
    const reveals = () => s.trail({ action: 'credential.reveal', target: `namespaces/${NS}/credentials/robot` });

    beforeAll(async () => {
      home = track(await startFakeHelmRepo({ users: { robot: PASSWORD } }));
      mirror = track(await startFakeHelmRepo({ users: { robot: PASSWORD }, host: '127.0.0.2' }));
      oci = track(await startFakeOciRegistry({ users: { robot: PASSWORD }, host: '127.0.0.3', tokenHost: '127.0.0.4' }));
      await s.server.ok(M.registryCredential, { i: { namespace: NS, name: 'robot', username: 'robot', password: PASSWORD } }, s.owner);
      await s.server.ok(M.registry, { i: { namespace: NS, name: 'home', url: home.url, credential: 'robot' } }, s.owner);
      await s.server.ok(M.validate, { i: { namespace: NS, name: 'robot' } }, s.owner);
    });

    it("the owner's own first check is recorded with its destination", async () => {
      expect(await reveals()).toEqual([
        { action: 'credential.reveal', outcome: 'SUCCESS', target: `namespaces/${NS}/credentials/robot`, actor: { name: 'user:olivia' }, details: { via: 'validation', host: hostOf(home) } },
      ]);
    });

    it('an editor attaching the credential to a registry on a host they control: the trail shows where it went', async () => {
      await s.server.ok(M.registry, { i: { namespace: NS, name: 'mirror', url: mirror.url, credential: 'robot' } }, s.editor);
      await s.server.ok(M.validate, { i: { namespace: NS, name: 'robot' } }, s.editor);
      // The password did reach the editor's host: that is exactly what the trail must show.
      expect(basicAuthOf({ headers: mirror.requests.at(-1)!.headers } as never)).toEqual({ username: 'robot', password: PASSWORD });
      const events = await reveals();
      expect(events).toHaveLength(2);
      expect(events[1]).toEqual({
        action: 'credential.reveal',
        outcome: 'SUCCESS',
        target: `namespaces/${NS}/credentials/robot`,
        actor: { name: 'user:eddie' },
        details: { via: 'validation', host: hostOf(mirror) },
      });
      const validate = (await s.trail({ action: 'credential.validate', target: `namespaces/${NS}/credentials/robot` })).at(-1);
      expect(validate.details.sentTo.sort()).toEqual([hostOf(home), hostOf(mirror)].sort());

      // A second check to the same hosts reveals nothing new.
      await s.server.ok(M.validate, { i: { namespace: NS, name: 'robot' } }, s.editor);
      expect(await reveals()).toHaveLength(2);
    });

    it('the token service an OCI registry names is a destination of its own', async () => {
      await s.server.ok(M.registry, { i: { namespace: NS, name: 'oci-mirror', url: oci.url, credential: 'robot' } }, s.editor);
      await s.server.ok(M.validate, { i: { namespace: NS, name: 'robot' } }, s.editor);
      expect(basicAuthOf({ headers: oci.tokenService!.requests.at(-1)!.headers } as never)?.password).toBe(PASSWORD);
      const hosts = (await reveals()).slice(2).map((e: { details: { host: string } }) => e.details.host);
      expect(hosts.sort()).toEqual([hostOf(oci), hostOf(oci.tokenService!)].sort());
    });

    it('a secret given in the request is no reveal: its destinations become known', async () => {
      const before = (await reveals()).length;
      const next = 'registry-robot-password-next-4343';
      for (const fake of [home, mirror, oci]) fake.users.set('robot', next);
      await s.server.ok(M.updateRegistryCredential, { i: { namespace: NS, name: 'robot', password: next } }, s.editor);
      const update = (await s.trail({ action: 'credential.update', target: `namespaces/${NS}/credentials/robot` })).at(-1);
      expect(update.details.sentTo.sort()).toEqual([hostOf(home), hostOf(mirror), hostOf(oci), hostOf(oci.tokenService!)].sort());
      await s.server.ok(M.validate, { i: { namespace: NS, name: 'robot' } }, s.editor);
      expect(await reveals()).toHaveLength(before);

      // The same for a credential whose check runs on create.
      await s.server.ok(M.git, { i: { namespace: NS, name: 'github', provider: 'GITHUB', token: 'ghp_token-for-create-0000' } }, s.editor);
      await s.server.ok(M.validate, { i: { namespace: NS, name: 'github' } }, s.editor);
      const create = (await s.trail({ action: 'credential.create', target: `namespaces/${NS}/credentials/github` })).at(-1);
      expect(create.details.sentTo).toEqual([hostOf(github)]);
      expect(await s.trail({ action: 'credential.reveal', target: `namespaces/${NS}/credentials/github` })).toEqual([]);
    });
  });
});

describe('SCOPEGATE_OUTBOUND_ALLOW=127.0.0.2 alone', () => {
  let s: Awaited<ReturnType<typeof startWith>>;
  let listed: FakeHelmRepo;
  let unlisted: FakeHelmRepo;
  let hetzner: FakeHetzner;

  beforeAll(async () => {
    listed = track(await startFakeHelmRepo({ users: { robot: PASSWORD }, host: '127.0.0.2' }));
    unlisted = track(await startFakeHelmRepo({ users: { robot: PASSWORD } }));
    hetzner = track(await startFakeHetzner({ tokens: ['hcloud-token-2222'] }));
    s = await startWith({ SCOPEGATE_OUTBOUND_ALLOW: '127.0.0.2', SCOPEGATE_HETZNER_API_URL: hetzner.url });
    await s.server.ok(M.registryCredential, { i: { namespace: NS, name: 'robot', username: 'robot', password: PASSWORD } }, s.editor);
  });
  afterAll(() => s?.server.close());

  it('opens 127.0.0.2, plain http included', async () => {
    await s.server.ok(M.registry, { i: { namespace: NS, name: 'listed', url: listed.url, credential: 'robot' } }, s.editor);
    expect((await s.server.ok(M.validate, { i: { namespace: NS, name: 'robot' } }, s.editor)).validateCredential.validationStatus).toBe('VALID');
    expect(listed.requests.at(-1)!.path).toBe('/charts/index.yaml');
  });

  it('and nothing else', async () => {
    expectError(await s.call(M.registry, { name: 'unlisted', url: unlisted.url }), 'BAD_USER_INPUT', INTERNAL);
    expectError(await s.call(M.registry, { name: 'other-loopback', url: 'https://127.0.0.3/charts' }), 'BAD_USER_INPUT', INTERNAL);
    await s.server.ok(M.registry, { i: { namespace: NS, name: 'by-name', url: `https://localhost:${new URL(unlisted.origin).port}/charts`, credential: 'robot' } }, s.editor);
    expectError(await s.call(M.validate, { name: 'robot' }), 'PROVIDER_UNREACHABLE', INTERNAL);
    expectError(await s.call(M.hetzner, { name: 'hetzner', apiToken: 'hcloud-token-2222' }), 'PROVIDER_UNREACHABLE', INTERNAL);
    expect(unlisted.connections + hetzner.connections).toBe(0);
  });
});

describe('the rule itself', () => {
  it('classifies addresses by the range they fall in (IPv4-mapped IPv6 as its IPv4 address)', () => {
    const cases: Record<string, 'public' | 'internal' | 'never'> = {
      '93.184.215.14': 'public',
      '2606:4700::1111': 'public',
      '127.0.0.1': 'internal',
      '::1': 'internal',
      '10.1.2.3': 'internal',
      '172.16.0.1': 'internal',
      '192.168.1.1': 'internal',
      'fd12:3456::1': 'internal',
      '100.64.0.1': 'internal',
      '::ffff:127.0.0.1': 'internal',
      '::ffff:10.0.0.1': 'internal',
      '169.254.169.254': 'never',
      '169.254.170.2': 'never',
      'fe80::1': 'never',
      '::ffff:169.254.169.254': 'never',
      'fd00:ec2::254': 'never',
      '100.100.100.200': 'never',
      '0.0.0.0': 'never',
      '::': 'never',
      '224.0.0.1': 'never',
      'ff02::1': 'never',
      '255.255.255.255': 'never',
      '240.0.0.1': 'never',
      '64:ff9b::a9fe:a9fe': 'never', // NAT64 of 169.254.169.254
      '::7f00:1': 'never', // IPv4-compatible ::127.0.0.1
      '2002:a9fe:a9fe::1': 'never', // 6to4
    };
    for (const [address, expected] of Object.entries(cases)) expect(classify(address), address).toBe(expected);
  });

  it('validates SCOPEGATE_OUTBOUND_ALLOW and SCOPEGATE_ALLOW_PRIVATE_TARGETS, naming them', () => {
    expect(parseAllowList(' registry.internal, 10.1.0.0/16 ,fd00::5, 127.0.0.2').hosts).toEqual(['registry.internal']);
    expect(parseAllowList('10.1.0.0/16,127.0.0.2').ranges.map(([a, bits]) => `${a}/${bits}`)).toEqual(['10.1.0.0/16', '127.0.0.2/32']);
    const config = (env: Record<string, string>) => () => loadConfig({ NODE_ENV: 'test', ...env });
    for (const value of ['169.254.169.254', '169.254.0.0/16', '0.0.0.0/0', 'fe80::/10', 'http://x.example', '10.0.0.0/33', 'a b']) {
      expect(config({ SCOPEGATE_OUTBOUND_ALLOW: value }), value).toThrow(ConfigError);
      expect(config({ SCOPEGATE_OUTBOUND_ALLOW: value })).toThrow(/SCOPEGATE_OUTBOUND_ALLOW/);
    }
    expect(config({ SCOPEGATE_ALLOW_PRIVATE_TARGETS: 'yes' })).toThrow(/SCOPEGATE_ALLOW_PRIVATE_TARGETS must be true or false/);
    expect(config({ SCOPEGATE_ALLOW_PRIVATE_TARGETS: 'true', NODE_ENV: 'production' })).toThrow(/SCOPEGATE_ALLOW_PRIVATE_TARGETS is for development/);
    expect(config({ SCOPEGATE_ALLOW_PRIVATE_TARGETS: 'true' })().SCOPEGATE_ALLOW_PRIVATE_TARGETS).toBe(true);
  });

  it('reads at most 64 KiB of a body', async () => {
    const big = track(
      await startFakeServer((_req, res) => {
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.end('x'.repeat(1024 * 1024));
      }),
    );
    const session = openSession({ policy: { allowPrivate: true, allow: { hosts: [], ranges: [] } }, timeoutMs: 5_000, service: 'the big fake' });
    try {
      const reply = await session.get(`${big.origin}/big`);
      expect(reply.status).toBe(200);
      expect(reply.body.length).toBe(64 * 1024);
    } finally {
      await session.close();
    }
  });
});
