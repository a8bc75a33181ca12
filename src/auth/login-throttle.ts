import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { DomainError } from '../domain/errors.js';

/**
 * Brute-force protection for `login`: failed attempts are counted per username and per
 * client address; past the limit, logins are refused with RATE_LIMITED (and a retry
 * time) before any password is checked. A successful login clears the username's count.
 */
export class LoginThrottle {
  private readonly byUser = new RateLimiterMemory({ keyPrefix: 'login-user', points: 10, duration: 15 * 60 });
  private readonly byAddress = new RateLimiterMemory({ keyPrefix: 'login-ip', points: 100, duration: 15 * 60 });

  async check(username: string, ip: string | null): Promise<void> {
    const [user, address] = await Promise.all([this.byUser.get(username), ip ? this.byAddress.get(ip) : null]);
    const blocked = [user, address].filter((r): r is RateLimiterRes => r !== null && r.remainingPoints <= 0);
    if (blocked.length) {
      const seconds = Math.ceil(Math.max(...blocked.map((r) => r.msBeforeNext)) / 1000);
      throw new DomainError('RATE_LIMITED', `too many failed logins: try again in ${seconds} seconds`, { retryAfterSeconds: seconds });
    }
  }

  async failed(username: string, ip: string | null): Promise<void> {
    await Promise.all([this.byUser.penalty(username, 1), ip ? this.byAddress.penalty(ip, 1) : null]);
  }

  async succeeded(username: string): Promise<void> {
    await this.byUser.delete(username);
  }
}
