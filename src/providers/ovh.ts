/**
 * OVHcloud: signed requests. We take the timestamp from the server's own
 * clock (/auth/time) so local clock skew cannot fail the check, prove the keys
 * with /auth/currentCredential, then check the project is reachable.
 */
import { createHash } from 'node:crypto';
import { joinUrl, parseJson, refusal, runCheck, type Reply } from './http.js';
import type { ProviderOptions, ValidationResult } from './types.js';

export type OvhEndpoint = 'OVH_EU' | 'OVH_CA' | 'OVH_US';

export interface OvhKeys {
  applicationKey: string;
  applicationSecret: string;
  consumerKey: string;
  projectId: string;
}

const ENDPOINT_URLS: Record<OvhEndpoint, string> = {
  OVH_EU: 'https://eu.api.ovh.com/1.0',
  OVH_CA: 'https://ca.api.ovh.com/1.0',
  OVH_US: 'https://api.us.ovhcloud.com/1.0',
};

const SERVICE = 'the OVH API';

// OVH answers with a machine-readable errorCode; say what it means for the user.
const ERROR_HINTS: Record<string, string> = {
  INVALID_KEY: 'the application key is unknown',
  INVALID_CREDENTIAL: 'the consumer key is unknown, expired or not validated yet',
  INVALID_SIGNATURE: 'the request signature was refused; check the application secret',
  NOT_GRANTED_CALL: 'the consumer key is not granted this call',
};

export function ovhEndpointUrl(endpoint: OvhEndpoint): string {
  return ENDPOINT_URLS[endpoint];
}

export function validateOvh(baseUrl: string, keys: OvhKeys, opts: ProviderOptions): Promise<ValidationResult> {
  return runCheck(SERVICE, opts, async (session) => {
    const time = await session.get(joinUrl(baseUrl, 'auth/time'));
    if (time.status !== 200) return refusal(SERVICE, time);
    const serverTime = Number(time.body.trim());
    if (!Number.isSafeInteger(serverTime)) {
      const message = `${SERVICE} gave no usable time from /auth/time; check the configured OVH API URL.`;
      return { status: 'UNREACHABLE', message };
    }
    const skew = serverTime - nowSeconds();

    const signedGet = (path: string): Promise<Reply> => {
      const url = joinUrl(baseUrl, path);
      const timestamp = String(nowSeconds() + skew);
      const signature = ovhSignature(keys.applicationSecret, keys.consumerKey, 'GET', url, '', timestamp);
      return session.get(url, {
        headers: { 'X-Ovh-Application': keys.applicationKey, 'X-Ovh-Timestamp': timestamp, Accept: 'application/json' },
        auth: { 'X-Ovh-Consumer': keys.consumerKey, 'X-Ovh-Signature': signature },
      });
    };

    const credential = await signedGet('auth/currentCredential');
    if (credential.status !== 200) return refusal(SERVICE, credential, errorHint(credential));
    const credentialStatus = parseJson(credential.body)?.status;
    if (typeof credentialStatus === 'string' && credentialStatus !== 'validated') {
      return {
        status: 'INVALID',
        httpStatus: credential.status,
        message: 'The OVH consumer key is not validated (pending, expired or refused): open its validation URL and log in to grant it.',
      };
    }

    const project = await signedGet(`cloud/project/${encodeURIComponent(keys.projectId)}`);
    if (project.status === 200) {
      return { status: 'VALID', message: `OVH accepted the keys and project ${keys.projectId} is reachable.` };
    }
    if (project.status === 403 || project.status === 404) {
      return {
        status: 'INVALID',
        httpStatus: project.status,
        message:
          `Project ${keys.projectId} is not reachable with these keys (HTTP ${project.status}): ` +
          'check the project id and that the consumer key grants GET on /cloud/project/*.',
      };
    }
    return refusal(SERVICE, project, errorHint(project));
  });
}

/** "$1$" + SHA1(secret+consumer+method+url+body+timestamp), as documented by OVH. */
function ovhSignature(secret: string, consumerKey: string, method: string, url: string, body: string, timestamp: string): string {
  const payload = [secret, consumerKey, method, url, body, timestamp].join('+');
  return `$1$${createHash('sha1').update(payload).digest('hex')}`;
}

function errorHint(reply: Reply): string | undefined {
  const code = parseJson(reply.body)?.errorCode;
  return typeof code === 'string' ? ERROR_HINTS[code] : undefined;
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
