import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { DomainError } from '../domain/errors.js';

const WINDOW_SECONDS = 15 * 60;

/**
 * Brute-force protection for `login`. An attempt takes its points *before* the password is
 * checked (an atomic consume), so a burst of concurrent guesses evaluates at most the limit.
 * The tight limit is per username *and* address, so a stranger cannot lock a user out from
 * their own address; looser ceilings per username (a guess spread over many addresses) and
 * per address (one address trying many usernames) bound the rest. A successful login gives
 * its points back.
 */
export class LoginThrottle {
  private readonly limiters = {
    pair: new RateLimiterMemory({ keyPrefix: 'login-pair', points: 10, duration: WINDOW_SECONDS }),
    user: new RateLimiterMemory({ keyPrefix: 'login-user', points: 100, duration: WINDOW_SECONDS }),
    address: new RateLimiterMemory({ keyPrefix: 'login-ip', points: 100, duration: WINDOW_SECONDS }),
  };

  private keys(username: string, ip: string | null) {
    const address = ip ?? 'unknown';
    return { pair: JSON.stringify([username, address]), user: username, address };
  }

  /** Takes one attempt, or throws RATE_LIMITED (with a retry time) when any limit is spent. */
  async attempt(username: string, ip: string | null): Promise<void> {
    const keys = this.keys(username, ip);
    const results = await Promise.allSettled((Object.keys(keys) as (keyof typeof keys)[]).map((k) => this.limiters[k].consume(keys[k])));
    const refused = results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
    if (!refused.length) return;
    const error = refused.find((r) => !(r instanceof RateLimiterRes));
    if (error) throw error;
    const seconds = Math.ceil(Math.max(...refused.map((r: RateLimiterRes) => r.msBeforeNext)) / 1000);
    throw new DomainError('RATE_LIMITED', `too many failed logins: try again in ${seconds} seconds`, { retryAfterSeconds: seconds });
  }

  /** The right password: this attempt does not count, and the username+address count starts again. */
  async succeeded(username: string, ip: string | null): Promise<void> {
    const keys = this.keys(username, ip);
    await Promise.all([this.limiters.pair.delete(keys.pair), this.limiters.user.reward(keys.user, 1), this.limiters.address.reward(keys.address, 1)]);
  }
}
