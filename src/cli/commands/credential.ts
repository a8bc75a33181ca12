/**
 * scopegate credential list | get | validate | reveal | delete, and
 * scopegate credential create|update registry|git|hetzner|ovh|ssh-key NAME: one flag per input field.
 */
import fs from 'node:fs';
import { type Command, Option } from 'commander';
import type { Client } from '../../client/index.js';
import { act, choice, GIT_PROVIDERS, getInNamespace, listInNamespace, namespaceOption, noun, OVH_ENDPOINTS, verb } from '../define.js';
import { UsageError } from '../errors.js';
import type { Column } from '../output.js';
import { checkSecretFlags, confirm, readSecret, secretOption } from '../secrets.js';

const FIELDS = `__typename name type description validationStatus validationMessage lastValidatedAt createdAt updatedAt resourceName
  ... on RegistryCredential { username }
  ... on GitCredential { provider host gitUsername: username }
  ... on OvhCredential { endpoint projectId applicationKey }
  ... on SshKeyCredential { keyType fingerprint publicKey generated }`;

/** Git's username is nullable and the registry's is not, so the query aliases it; put it back. */
function normalize(c: any): any {
  if (!c || !('gitUsername' in c)) return c;
  const { gitUsername, ...rest } = c;
  return { ...rest, username: gitUsername };
}

const detail = (c: any): string | undefined =>
  c.type === 'REGISTRY'
    ? c.username
    : c.type === 'GIT'
      ? [c.provider, c.host, c.username].filter(Boolean).join(' ')
      : c.type === 'OVH'
        ? `${c.endpoint} ${c.projectId}`
        : c.type === 'SSH_KEY'
          ? `${c.keyType} ${c.fingerprint}`
          : undefined;

const columns: Column<any>[] = [
  { header: 'name', value: (c) => c.name },
  { header: 'type', value: (c) => c.type },
  { header: 'status', value: (c) => c.validationStatus },
  { header: 'details', value: detail },
  { header: 'validated', value: (c) => c.lastValidatedAt },
];

interface Plain {
  /** Flag and input field. */
  flag: string;
  input: string;
  description: string;
  requiredOnCreate?: boolean;
  parse?: (value: string) => unknown;
}
interface Secret {
  flag: string;
  input: string;
  label: string;
}
interface Kind {
  name: string;
  what: string;
  create: string;
  update?: string;
  plain: Plain[];
  secrets: Secret[];
  /** Whether the create/update input has skipValidation. */
  skipValidation: { create: boolean; update: boolean };
  example: { create: string; update?: string };
}

const KINDS: Kind[] = [
  {
    name: 'registry',
    what: 'a Helm/OCI registry login',
    create: 'createRegistryCredential',
    update: 'updateRegistryCredential',
    plain: [
      {
        flag: 'username',
        input: 'username',
        description: 'the registry username (_json_key for a Google key file)',
        requiredOnCreate: true,
      },
    ],
    secrets: [{ flag: 'password', input: 'password', label: 'registry password or access token' }],
    skipValidation: { create: false, update: true },
    example: {
      create: 'scopegate credential create registry ghcr -n shop --username acme-bot --password-file ~/.ghcr-token',
      update: 'printf %s "$NEW" | scopegate credential update registry ghcr -n shop --password-stdin',
    },
  },
  {
    name: 'git',
    what: 'a Git hosting token',
    create: 'createGitCredential',
    update: 'updateGitCredential',
    plain: [
      {
        flag: 'provider',
        input: 'provider',
        description: 'github, gitlab, bitbucket or generic',
        requiredOnCreate: true,
        parse: choice(GIT_PROVIDERS),
      },
      { flag: 'host', input: 'host', description: 'the host of a self-hosted provider (gitlab.example.com)' },
      { flag: 'username', input: 'username', description: 'the username, where the provider needs one' },
    ],
    secrets: [{ flag: 'token', input: 'token', label: 'Git access token' }],
    skipValidation: { create: true, update: true },
    example: {
      create: 'scopegate credential create git gh -n shop --provider github --token-stdin < ~/.gh-token',
      update: 'scopegate credential update git gh -n shop --token-file ~/.gh-token',
    },
  },
  {
    name: 'hetzner',
    what: 'a Hetzner Cloud API token',
    create: 'createHetznerCredential',
    update: 'updateHetznerCredential',
    plain: [],
    secrets: [{ flag: 'api-token', input: 'apiToken', label: 'Hetzner API token' }],
    skipValidation: { create: true, update: true },
    example: {
      create: 'scopegate credential create hetzner hcloud -n shop --api-token-file ~/.hcloud',
      update: 'scopegate credential update hetzner hcloud -n shop --api-token-stdin',
    },
  },
  {
    name: 'ovh',
    what: 'OVHcloud API keys',
    create: 'createOvhCredential',
    update: 'updateOvhCredential',
    plain: [
      { flag: 'endpoint', input: 'endpoint', description: 'ovh-eu (default), ovh-ca or ovh-us', parse: choice(OVH_ENDPOINTS) },
      { flag: 'project-id', input: 'projectId', description: 'the Public Cloud project id', requiredOnCreate: true },
      { flag: 'application-key', input: 'applicationKey', description: 'the application key', requiredOnCreate: true },
    ],
    secrets: [
      { flag: 'application-secret', input: 'applicationSecret', label: 'OVH application secret' },
      { flag: 'consumer-key', input: 'consumerKey', label: 'OVH consumer key' },
    ],
    skipValidation: { create: true, update: true },
    example: {
      create:
        'scopegate credential create ovh ovh -n shop --project-id abc --application-key ak --application-secret-file as.txt --consumer-key-stdin < ck.txt',
      update: 'scopegate credential update ovh ovh -n shop --consumer-key-file ck.txt',
    },
  },
];

export function registerCredential(program: Command): void {
  const credential = noun(program, 'credential', "A namespace's credentials: registry logins, Git tokens, cloud API keys, SSH keys", [
    'scopegate credential list -n shop',
    'scopegate credential create registry ghcr -n shop --username acme-bot --password-stdin < token.txt',
  ]);

  act(
    verb(credential, {
      name: 'list',
      description: "List a namespace's credentials (never their secrets)",
      example: 'scopegate credential list -n shop',
    }).addOption(namespaceOption()),
    async (_a, o, ctx) => {
      const credentials = (await listInNamespace<any>(ctx.client(), o.namespace, 'credentials', FIELDS)).map(normalize);
      ctx.output.result(credentials, credentials, columns);
    },
  );

  act(
    verb(credential, {
      name: 'get <name>',
      description: 'Show one credential (never its secret)',
      example: 'scopegate credential get ghcr -n shop',
    }).addOption(namespaceOption()),
    async ([name], o, ctx) => {
      const found = normalize(await getInNamespace<any>(ctx.client(), o.namespace, 'credential', name!, FIELDS, 'credential'));
      ctx.output.result(found, [found], columns);
    },
  );

  act(
    verb(credential, {
      name: 'validate <name>',
      description: 'Check the stored secret against its provider now (editors)',
      example: 'scopegate credential validate ghcr -n shop',
    }).addOption(namespaceOption()),
    async ([name], o, ctx) => {
      const data = await ctx
        .client()
        .request(`mutation($input: CredentialRefInput!) { validateCredential(input: $input) { ${FIELDS} } }`, {
          input: { namespace: o.namespace, name },
        });
      const c = normalize(data.validateCredential);
      ctx.output.note(`${c.name}: ${c.validationStatus}${c.validationMessage ? ` (${c.validationMessage})` : ''}`);
      ctx.output.result(c, [c], columns);
    },
  );

  act(
    verb(credential, {
      name: 'reveal <name>',
      description: 'Print the decrypted secret fields (editors; always audited)',
      example: 'scopegate credential reveal ghcr -n shop --output json',
    }).addOption(namespaceOption()),
    async ([name], o, ctx) => {
      const data = await ctx
        .client()
        .request(
          `mutation($input: CredentialRefInput!) { revealCredentialSecret(input: $input) { fields { name value } credential { ${FIELDS} } } }`,
          { input: { namespace: o.namespace, name } },
        );
      const secret = { ...data.revealCredentialSecret, credential: normalize(data.revealCredentialSecret.credential) };
      ctx.output.result(secret, secret.fields, [
        { header: 'field', value: (f: any) => f.name },
        { header: 'value', value: (f: any) => f.value },
      ]);
    },
  );

  act(
    verb(credential, {
      name: 'delete <name>',
      description: 'Delete a credential (editors); refused while registries use it, unless --force',
      example: 'scopegate credential delete ghcr -n shop --force --yes',
    })
      .addOption(namespaceOption())
      .option('--force', 'delete it even while registries use it')
      .option('--yes', 'do not ask for confirmation'),
    async ([name], o, ctx) => {
      const client = ctx.client();
      await confirm(`delete credential ${name} in ${o.namespace}`, o.yes);
      const result = await client.deleteCredential({ namespace: o.namespace, name: name!, force: o.force });
      ctx.output.note(`deleted credential ${name} in ${o.namespace}`);
      if (ctx.output.format === 'json') ctx.output.json(result);
    },
  );

  const create = noun(credential, 'create', 'Create a credential of one type: registry, git, hetzner, ovh or ssh-key (editors)', [
    'scopegate credential create git gh -n shop --provider github --token-stdin < gh-token.txt',
    'scopegate credential create ssh-key deploy -n shop --generate > deploy_key',
  ]);
  const update = noun(
    credential,
    'update',
    'Change a credential of one type: registry, git, hetzner or ovh (editors)',
    'scopegate credential update hetzner hcloud -n shop --api-token-file hcloud.txt',
  );
  for (const kind of KINDS) {
    defineKind(create, kind, 'create');
    if (kind.update) defineKind(update, kind, 'update');
  }
  defineSshKey(create);
}

function defineKind(parent: Command, kind: Kind, mode: 'create' | 'update'): void {
  const shadows = kind.secrets.some((s) => s.flag === 'token') ? (['tokenFile'] as const) : [];
  const command = verb(parent, {
    name: `${kind.name} <name>`,
    description: `${mode === 'create' ? 'Create' : 'Change'} ${kind.what}`,
    example: kind.example[mode]!,
    shadows: [...shadows],
  }).addOption(namespaceOption());
  if (shadows.length)
    command.addHelpText(
      'after',
      "Here --token-file is the Git token's file; the file of scopegate's own token goes before the noun (`scopegate --token-file PATH credential …`).\n",
    );
  for (const plain of kind.plain) {
    const option = new Option(`--${plain.flag} <value>`, plain.description);
    if (plain.parse) option.argParser(plain.parse);
    if (mode === 'create' && plain.requiredOnCreate) option.makeOptionMandatory();
    command.addOption(option);
  }
  for (const secret of kind.secrets) secretOption(command, secret.flag, `the ${secret.label}`);
  command.option('--description <text>', 'what it is for');
  if (kind.skipValidation[mode]) command.option('--skip-validation', 'store without asking the provider (it stays UNCHECKED)');

  act(command, async ([name], o, ctx) => {
    checkSecretFlags(
      o,
      kind.secrets.map((s) => s.flag),
    );
    const client = ctx.client();
    const input: Record<string, unknown> = { namespace: o.namespace, name, description: o.description };
    for (const plain of kind.plain) input[plain.input] = o[camel(plain.flag)];
    for (const secret of kind.secrets)
      input[secret.input] = await readSecret(o, secret.flag, { required: mode === 'create', label: secret.label });
    if (kind.skipValidation[mode]) input.skipValidation = o.skipValidation ? true : undefined;
    if (
      mode === 'update' &&
      Object.entries(input).every(
        ([key, value]) => key === 'namespace' || key === 'name' || key === 'skipValidation' || value === undefined,
      )
    ) {
      throw new UsageError('nothing to change', 'pass a field to change, e.g. --description or a secret');
    }
    const field = mode === 'create' ? kind.create : kind.update!;
    const result = await (client[field as keyof Client] as (input: unknown) => Promise<any>)(input);
    ctx.output.note(
      `${mode === 'create' ? 'created' : 'updated'} ${kind.name} credential ${result.name} in ${o.namespace} (${result.validationStatus})`,
    );
    ctx.output.result(result, [result], columns);
  });
}

function defineSshKey(parent: Command): void {
  const command = verb(parent, {
    name: 'ssh-key <name>',
    description: 'Store an SSH public key, or generate an Ed25519 keypair whose private key is printed once',
    example: [
      'scopegate credential create ssh-key deploy -n shop --public-key-file ~/.ssh/id_ed25519.pub',
      'scopegate credential create ssh-key deploy -n shop --generate > deploy_key',
    ],
  })
    .addOption(namespaceOption())
    .addOption(new Option('--public-key-file <path>', 'an OpenSSH public key file').conflicts('generate'))
    .option('--generate', 'generate the keypair on the server; the private key is printed once')
    .option('--description <text>', 'what it is for');
  act(command, async ([name], o, ctx) => {
    if (!o.generate && !o.publicKeyFile) throw new UsageError('pass --public-key-file PATH or --generate');
    let publicKey: string | undefined;
    if (o.publicKeyFile) {
      try {
        publicKey = fs.readFileSync(o.publicKeyFile, 'utf8').trim();
      } catch (error) {
        throw new UsageError(
          `cannot read --public-key-file ${o.publicKeyFile}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
        );
      }
    }
    const result = await ctx
      .client()
      .createSshKeyCredential({ namespace: o.namespace, name: name!, description: o.description, generate: o.generate, publicKey });
    const c = result.credential;
    ctx.output.note(`created ssh-key credential ${c.name} in ${o.namespace} (${c.keyType} ${c.fingerprint})`);
    if (result.privateKey) ctx.output.secret(result.privateKey, result);
    else ctx.output.result(result, [c], columns);
  });
}

const camel = (flag: string) => flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
