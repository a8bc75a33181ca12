/**
 * Git hosting providers: ask for the current user, which every valid token may read.
 * The answer is not quoted back (not even the account name): it is the provider's text.
 */
import { basicCredentials, joinUrl, refusal, runCheck, type GetOptions } from './http.js';
import { ProviderInputError, type ProviderOptions, type ValidationResult } from './types.js';

export type GitProvider = 'GITHUB' | 'GITLAB' | 'BITBUCKET' | 'GENERIC';

export interface GitCredentials {
  /** Self-hosted host such as gitlab.example.com; null/undefined for the public service. */
  host?: string | null;
  username?: string | null;
  token: string;
}

export interface GitApiUrls {
  github: string;
  gitlab: string;
  bitbucket?: string;
}

export const GITHUB_DEFAULT_URL = 'https://api.github.com';
export const GITLAB_DEFAULT_URL = 'https://gitlab.com/api/v4';
export const BITBUCKET_DEFAULT_URL = 'https://api.bitbucket.org/2.0';

interface UserCheck {
  service: string;
  url: string;
  request: GetOptions;
}

/**
 * Checks a Git token against its provider's "current user" endpoint.
 * Returns null when the credential cannot be checked: GENERIC Git servers and
 * self-hosted Bitbucket have no common API for it (leave it UNCHECKED).
 * Throws ProviderInputError for a malformed host or a Bitbucket credential without username.
 */
export async function validateGit(
  provider: GitProvider,
  credentials: GitCredentials,
  urls: GitApiUrls,
  opts: ProviderOptions,
): Promise<ValidationResult | null> {
  const check = gitUserCheck(provider, credentials, urls);
  if (!check) return null;
  return runCheck(check.service, opts, async (session) => {
    const reply = await session.get(check.url, check.request);
    if (reply.status !== 200) return refusal(check.service, reply);
    return { status: 'VALID', message: `${check.service} accepted the token.` };
  });
}

/** What to ask whom: self-hosted servers over https at their host, the public services at their configured API URL. */
function gitUserCheck(provider: GitProvider, { host, username, token }: GitCredentials, urls: GitApiUrls): UserCheck | null {
  switch (provider) {
    case 'GITHUB': {
      const own = selfHosted(host, 'github.com');
      return {
        service: own ? `GitHub (${own})` : 'GitHub',
        url: joinUrl(own ? `https://${own}/api/v3` : urls.github, 'user'),
        request: {
          headers: { Accept: 'application/vnd.github+json', 'X-GitHub-Api-Version': '2022-11-28' },
          auth: { Authorization: `Bearer ${token}` },
        },
      };
    }
    case 'GITLAB': {
      const own = selfHosted(host, 'gitlab.com');
      return {
        service: own ? `GitLab (${own})` : 'GitLab',
        url: joinUrl(own ? `https://${own}/api/v4` : urls.gitlab, 'user'),
        request: { auth: { 'PRIVATE-TOKEN': token } },
      };
    }
    case 'BITBUCKET': {
      if (selfHosted(host, 'bitbucket.org')) return null; // Bitbucket Data Center has a different API
      if (!username) {
        throw new ProviderInputError('Bitbucket credentials need a username: Bitbucket checks username and token together.');
      }
      return {
        service: 'Bitbucket',
        url: joinUrl(urls.bitbucket ?? BITBUCKET_DEFAULT_URL, 'user'),
        request: { auth: { Authorization: `Basic ${basicCredentials(username, token)}` } },
      };
    }
    case 'GENERIC':
      return null;
  }
}

/** The self-hosted host, or undefined for none / the public service. */
function selfHosted(host: string | null | undefined, publicHost: string): string | undefined {
  if (!host) return undefined;
  const normalised = normaliseHost(host);
  return normalised === publicHost ? undefined : normalised;
}

/** "gitlab.example.com" or "gitlab.example.com:8443", nothing else (no scheme, path or user). */
function normaliseHost(host: string): string {
  let parsed: URL | undefined;
  try {
    parsed = new URL(`https://${host.trim()}`);
  } catch {
    parsed = undefined;
  }
  if (!parsed || parsed.host !== host.trim().toLowerCase() || parsed.pathname !== '/') {
    throw new ProviderInputError(`Git host "${host}" is not allowed: give only the host name, e.g. gitlab.example.com.`);
  }
  return parsed.host;
}
