import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { lazyRequire } from '../lazy.js';
import type { Logger } from '../logger.js';
import type { Invalidation, Invalidations } from '../store/cache.js';

const CHANNEL = 'scopegate:token-cache';
const ioredis = lazyRequire<typeof import('ioredis')>('ioredis');

/**
 * Carries cache invalidations to the other replicas over Redis pub/sub, so a revoked,
 * disabled or regenerated token, a changed namespace or a removed member is seen by every
 * replica at once, not after the cache TTL. Without Redis configured, invalidation stays
 * local (one replica).
 */
export class InvalidationBus {
  private readonly instance = randomUUID();
  private readonly publisher: Redis;
  private readonly subscriber: Redis;

  constructor(url: string, invalidations: Invalidations, private readonly log: Logger) {
    const options = { maxRetriesPerRequest: 2, enableOfflineQueue: true };
    const { Redis } = ioredis();
    this.publisher = new Redis(url, options);
    this.subscriber = new Redis(url, options);
    for (const client of [this.publisher, this.subscriber]) {
      client.on('error', (err) => log.warn({ err: err.message }, 'redis: token cache invalidation across replicas is degraded'));
    }
    this.subscriber.on('message', (_channel, raw) => {
      try {
        const { from, invalidation } = JSON.parse(raw) as { from: string; invalidation: Invalidation };
        if (from !== this.instance) invalidations.apply(invalidation);
      } catch (err) {
        log.warn({ err }, 'redis: ignored a malformed invalidation message');
      }
    });
    invalidations.onPublish = (invalidation) => this.publish(invalidation);
  }

  /** Resolves once this replica listens, so nothing published after start is missed. */
  async start(): Promise<void> {
    await this.subscriber.subscribe(CHANNEL);
  }

  private publish(invalidation: Invalidation): void {
    this.publisher
      .publish(CHANNEL, JSON.stringify({ from: this.instance, invalidation }))
      .catch((err) => this.log.warn({ err: err.message }, 'redis: could not publish a token cache invalidation'));
  }

  /**
   * Not quit(): QUIT waits in the offline queue, forever, while Redis is unreachable.
   * disconnect() ends the connections (after what was already written) and stops reconnecting.
   */
  close(): void {
    this.subscriber.disconnect();
    this.publisher.disconnect();
  }
}
