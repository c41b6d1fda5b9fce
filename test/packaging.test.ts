// The npm package: `npm pack` from a clean clone builds dist/ first (prepack) and ships it, TypeScript users
// are told the types need @types/node (an optional peer, no runtime dependency), and packed tarballs stay
// out of git.
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';

const pkg = JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  scripts: Record<string, string>;
  files: string[];
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  types: string;
};

describe('package', () => {
  it('builds dist/ before packing and ships it, with no runtime dependency', () => {
    expect(pkg.scripts.prepack).toBe('npm run build');
    expect(pkg.files).toContain('dist');
    expect(pkg.types.startsWith('./dist/')).toBe(true);
    expect(pkg.dependencies ?? {}).toEqual({});
  });
  it('declares the @types/node its .d.ts files use as an optional peer', () => {
    const dts = fs.readFileSync(new URL('../src/train/run.ts', import.meta.url), 'utf8');
    expect(dts).toMatch(/NodeJS\./); // the public types do use Node's
    expect(pkg.peerDependencies?.['@types/node']).toBeDefined();
    expect(pkg.peerDependenciesMeta?.['@types/node']?.optional).toBe(true);
  });
  it('keeps packed tarballs out of git', () => {
    expect(fs.readFileSync(new URL('../.gitignore', import.meta.url), 'utf8').split('\n')).toContain('*.tgz');
  });
});
