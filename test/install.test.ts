import { readFileSync } from 'node:fs';
import semver from 'semver';
import { describe, expect, it } from 'vitest';

/**
 * `npm install` must not warn about the Node version the README promises for what the server
 * runs on: the lockfile records each package's `engines`, and the oldest Node we promise must
 * satisfy every one outside the development tools.
 */
const root = new URL('../', import.meta.url);
const manifest = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'));
const lock = JSON.parse(readFileSync(new URL('package-lock.json', root), 'utf8'));
const oldestNode = semver.minVersion(manifest.engines.node)!.version;

interface Locked { version: string; dev?: boolean; engines?: { node?: string } }
const refusing = (dev: boolean) =>
  Object.entries(lock.packages as Record<string, Locked>)
    .filter(([path, pkg]) => path !== '' && Boolean(pkg.dev) === dev && pkg.engines?.node)
    .filter(([, pkg]) => !semver.satisfies(oldestNode, pkg.engines!.node!))
    .map(([path, pkg]) => `${path.replace(/^.*node_modules\//, '')}@${pkg.version} (${pkg.engines!.node})`);

describe(`installing on the oldest Node the package promises (${oldestNode})`, () => {
  const readme = readFileSync(new URL('README.md', root), 'utf8');

  it('the README promises the same Node version as package.json', () => {
    const [major, minor] = oldestNode.split('.');
    expect(readme).toContain(`Node.js ${major}.${minor} or newer`);
  });

  it('every package the server runs on accepts it', () => {
    expect(refusing(false)).toEqual([]);
  });

  it('the development tools that warn about it are named in the README', () => {
    const names = new Set(refusing(true).map((entry) => entry.slice(0, entry.lastIndexOf('@'))));
    for (const name of names) expect(readme, `${name} warns on Node ${oldestNode}`).toContain(`\`${name}\``);
  });
});
