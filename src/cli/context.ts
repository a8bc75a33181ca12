/** What every command needs: the server's URL, the token and where it came from, a client, the output. */
import fs from 'node:fs';
import { type Command, Option } from 'commander';
import { type Client, TOKEN_TEXT, createClient, endpointOf } from '../client/index.js';
import { NotAuthenticatedError, UsageError } from './errors.js';
import { Output, type OutputFormat } from './output.js';
import { getLogin } from './store.js';

export const DEFAULT_URL = 'http://127.0.0.1:4000';

export interface GlobalOptions {
  url?: string;
  tokenFile?: string;
  output: OutputFormat;
}

/** Filled in as soon as the URL and token are known, for the error messages of main. */
export const current: { url: string; tokenSource?: string } = { url: DEFAULT_URL };

/** The GraphQL endpoint for a base URL or an endpoint URL (the key of stored logins). */
function serverEndpoint(url: string): string {
  let endpoint: string;
  try {
    endpoint = endpointOf(url);
  } catch {
    throw new UsageError(`not a URL: ${url}`, 'pass --url http(s)://host[:port] or set SCOPEGATE_URL');
  }
  if (!/^https?:$/.test(new URL(endpoint).protocol)) throw new UsageError(`not an http(s) URL: ${url}`);
  return endpoint;
}

/** A token is one word of printable ASCII; the refusal names where it came from, never its text. */
function tokenOnly(token: string, source: string): string {
  if (TOKEN_TEXT.test(token)) return token;
  throw new UsageError(
    `${source} does not hold just a token: it has spaces, more than one line or control characters`,
    'put the token alone in it (one line; a final newline is fine)',
  );
}

export class Context {
  readonly output: Output;
  readonly url: string;
  readonly endpoint: string;

  constructor(readonly options: GlobalOptions) {
    this.output = new Output(options.output);
    this.url = options.url ?? process.env.SCOPEGATE_URL ?? DEFAULT_URL;
    current.url = this.url;
    this.endpoint = serverEndpoint(this.url);
  }

  /** SCOPEGATE_TOKEN, else --token-file, else the stored login for this URL. */
  token(): { token: string; source: string } | undefined {
    const fromEnv = process.env.SCOPEGATE_TOKEN?.trim();
    if (fromEnv) return { token: tokenOnly(fromEnv, 'SCOPEGATE_TOKEN'), source: 'SCOPEGATE_TOKEN' };
    if (this.options.tokenFile) {
      let text: string;
      try {
        text = fs.readFileSync(this.options.tokenFile, 'utf8').trim();
      } catch (error) {
        throw new UsageError(
          `cannot read --token-file ${this.options.tokenFile}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
        );
      }
      if (!text) throw new UsageError(`--token-file ${this.options.tokenFile} is empty`);
      return { token: tokenOnly(text, `--token-file ${this.options.tokenFile}`), source: `--token-file ${this.options.tokenFile}` };
    }
    const stored = getLogin(this.endpoint);
    return stored ? { token: stored.token, source: 'stored login' } : undefined;
  }

  /** A client with a token; not authenticated (exit 3) when there is none. */
  client(): Client {
    const found = this.token();
    if (!found) {
      throw new NotAuthenticatedError(
        `not logged in to ${this.url}`,
        'run `scopegate login`, set SCOPEGATE_TOKEN, or pass --token-file PATH',
      );
    }
    return this.clientWith(found.token, found.source);
  }

  /** A client sending this token (from `source`), after the plain-http warning when it leaves this machine. */
  clientWith(token: string, source: string): Client {
    current.tokenSource = source;
    this.warnPlainHttp('the token');
    return createClient({ url: this.endpoint, token, headers: { 'user-agent': 'scopegate-cli' } });
  }

  /** A client without a token (login: it sends the password). */
  anonymous(): Client {
    this.warnPlainHttp('the password');
    return createClient({ url: this.endpoint, headers: { 'user-agent': 'scopegate-cli' } });
  }

  private warnPlainHttp(what: string): void {
    const { protocol, hostname } = new URL(this.endpoint);
    if (protocol === 'http:' && !['localhost', '127.0.0.1', '[::1]'].includes(hostname)) {
      this.output.note(`warning: sending ${what} to ${hostname} over plain http; use https`);
    }
  }
}

/**
 * Global flags a command redefines for itself (a registry's --url, a Git credential's
 * --token-file): for those, the global one goes before the noun.
 */
export type Shadowed = 'url' | 'tokenFile';
const shadowed = new WeakMap<Command, readonly Shadowed[]>();

/**
 * The global options, accepted before the noun (`scopegate --output json token list …`) and after
 * the verb (`scopegate token list … --output json`).
 */
export function withGlobalOptions(command: Command, shadows: readonly Shadowed[] = []): Command {
  shadowed.set(command, shadows);
  if (!shadows.includes('url'))
    command.option('--url <url>', 'the server: base URL or /graphql endpoint (default: $SCOPEGATE_URL, else http://127.0.0.1:4000)');
  if (!shadows.includes('tokenFile'))
    command.option('--token-file <path>', 'read the token from this file (when SCOPEGATE_TOKEN is not set)');
  return command.addOption(new Option('-o, --output <format>', 'table or json').choices(['table', 'json']));
}

export function contextOf(command: Command): Context {
  let root = command;
  while (root.parent) root = root.parent;
  const global = root.opts() as Partial<GlobalOptions>;
  const own = command.opts() as Partial<GlobalOptions>;
  return new Context({
    url: (shadowed.get(command)?.includes('url') ? undefined : own.url) ?? global.url,
    tokenFile: (shadowed.get(command)?.includes('tokenFile') ? undefined : own.tokenFile) ?? global.tokenFile,
    output: own.output ?? global.output ?? 'table',
  });
}
