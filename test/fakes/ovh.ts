/**
 * Fake OVH API: /auth/time, and signed calls checked the way OVH checks them
 * (application key, consumer key, timestamp window, "$1$" + SHA1 signature).
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson, startFakeServer, type FakeServer } from './server.js';

export interface FakeOvh extends FakeServer {
  /** Base URL, like https://eu.api.ovh.com/1.0 */
  url: string;
  applications: Map<string, string>; // application key -> application secret
  consumerKeys: Set<string>;
  /** Project ids the consumer keys can see. */
  projects: Set<string>;
  /** False: the consumer keys are not granted /cloud/project/* (403 NOT_GRANTED_CALL). */
  cloudGranted: boolean;
  /** Seconds the fake's clock is ahead of ours, to prove the client uses /auth/time. */
  clockOffsetSeconds: number;
}

const ALLOWED_SKEW_SECONDS = 180;

export async function startFakeOvh(opts: {
  applicationKey: string;
  applicationSecret: string;
  consumerKey: string;
  projectId: string;
  clockOffsetSeconds?: number;
  latencyMs?: number;
}) {
  const now = () => Math.floor(Date.now() / 1000) + fake.clockOffsetSeconds;

  const server = await startFakeServer((req, res, url) => {
    if (req.method === 'GET' && url.pathname === '/1.0/auth/time') {
      // OVH answers with a bare JSON number.
      res.writeHead(200, { 'Content-Type': 'application/json' });
      return res.end(String(now()));
    }
    if (!checkSignedCall(req, res)) return;
    if (req.method === 'GET' && url.pathname === '/1.0/auth/currentCredential') {
      return sendJson(res, 200, {
        credentialId: 1,
        applicationId: 2,
        status: 'validated',
        rules: [{ method: 'GET', path: '/cloud/project/*' }],
        creation: new Date().toISOString(),
        expiration: null,
        allowedIPs: null,
        ovhSupport: false,
      });
    }
    const project = /^\/1\.0\/cloud\/project\/([^/]+)$/.exec(url.pathname);
    if (req.method === 'GET' && project) {
      if (!fake.cloudGranted) return error(res, 403, 'NOT_GRANTED_CALL', 'This call has not been granted');
      const id = decodeURIComponent(project[1]);
      if (!fake.projects.has(id)) return sendJson(res, 404, { class: 'Client::NotFound', message: 'This service does not exist' });
      return sendJson(res, 200, { project_id: id, projectName: 'fake', description: 'fake project', status: 'ok' });
    }
    return sendJson(res, 404, { class: 'Client::NotFound', message: 'Got an invalid (or empty) URL' });
  }, opts.latencyMs);

  /** Answers the request with OVH's error when the call is not properly signed. */
  function checkSignedCall(req: IncomingMessage, res: ServerResponse): boolean {
    const header = (name: string) => String(req.headers[name] ?? '');
    const applicationKey = header('x-ovh-application');
    const consumerKey = header('x-ovh-consumer');
    const timestamp = header('x-ovh-timestamp');
    const signature = header('x-ovh-signature');
    const secret = fake.applications.get(applicationKey);
    if (!applicationKey) return error(res, 400, 'INVALID_KEY', 'Missing application key');
    if (secret === undefined) return error(res, 403, 'INVALID_KEY', 'This application key is invalid');
    if (!consumerKey) return error(res, 401, 'NOT_CREDENTIAL', 'You must login first');
    if (!fake.consumerKeys.has(consumerKey)) return error(res, 403, 'INVALID_CREDENTIAL', 'This credential does not exist');
    if (Math.abs(Number(timestamp) - now()) > ALLOWED_SKEW_SECONDS) {
      return error(res, 400, 'QUERY_TIME_OUT_OF_RANGE', 'Timestamp is too far from the server time');
    }
    const fullUrl = `${fake.origin}${req.url}`;
    const expected = `$1$${createHash('sha1')
      .update([secret, consumerKey, req.method, fullUrl, '', timestamp].join('+'))
      .digest('hex')}`;
    if (signature !== expected) return error(res, 400, 'INVALID_SIGNATURE', 'Invalid signature');
    return true;
  }

  const fake: FakeOvh = Object.assign(server, {
    url: `${server.origin}/1.0`,
    applications: new Map([[opts.applicationKey, opts.applicationSecret]]),
    consumerKeys: new Set([opts.consumerKey]),
    projects: new Set([opts.projectId]),
    cloudGranted: true,
    clockOffsetSeconds: opts.clockOffsetSeconds ?? 0,
  });
  return fake;
}

function error(res: ServerResponse, status: number, errorCode: string, message: string): false {
  sendJson(res, status, { errorCode, httpCode: `${status}`, message });
  return false;
}
