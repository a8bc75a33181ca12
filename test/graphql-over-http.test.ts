import { serverAudits } from 'graphql-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/server.js';

/**
 * The GraphQL-over-HTTP conformance audits (graphql-http) against the real server, with a
 * bearer token added to every request as any client would.
 */
describe('GraphQL over HTTP conformance', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.close());

  const audits = serverAudits({
    url: () => server.graphqlUrl,
    fetchFn: (input: RequestInfo, init: RequestInit = {}) => {
      const headers = new Headers(init.headers);
      headers.set('authorization', `Bearer ${server.adminToken}`);
      return fetch(input, { ...init, headers });
    },
  });

  for (const audit of audits) {
    it(`${audit.id} ${audit.name}`, async () => {
      const result = await audit.fn();
      // MUST audits have to pass; SHOULD and MAY ones may warn, never error.
      expect({ status: result.status, reason: 'reason' in result ? result.reason : undefined }).not.toMatchObject({ status: 'error' });
    });
  }
});
