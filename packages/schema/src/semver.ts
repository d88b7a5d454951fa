import { z } from 'zod';

/** A parsed `MAJOR.MINOR.PATCH` version (pre-release and build suffixes are kept, not ordered). */
export interface SemVer {
  major: number;
  minor: number;
  patch: number;
  prerelease: string | undefined;
  raw: string;
}

const SEMVER_RE =
  /^(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})(?:-([0-9A-Za-z.-]{1,64}))?(?:\+[0-9A-Za-z.-]{1,64})?$/;

/** Parses a semantic version; returns undefined when the text is not one. */
export function parseSemver(text: string): SemVer | undefined {
  const m = SEMVER_RE.exec(text.trim());
  if (!m) return undefined;
  return {
    major: Number(m[1]),
    minor: Number(m[2]),
    patch: Number(m[3]),
    prerelease: m[4],
    raw: text.trim(),
  };
}

/** Compares two versions: negative when a < b, 0 when equal (ignoring build metadata), positive when a > b. */
export function compareSemver(a: SemVer | string, b: SemVer | string): number {
  const x = typeof a === 'string' ? mustParse(a) : a;
  const y = typeof b === 'string' ? mustParse(b) : b;
  if (x.major !== y.major) return x.major - y.major;
  if (x.minor !== y.minor) return x.minor - y.minor;
  if (x.patch !== y.patch) return x.patch - y.patch;
  // A pre-release sorts before its release (1.0.0-rc.1 < 1.0.0); two pre-releases compare as text.
  if (x.prerelease === y.prerelease) return 0;
  if (x.prerelease === undefined) return 1;
  if (y.prerelease === undefined) return -1;
  return x.prerelease < y.prerelease ? -1 : 1;
}

function mustParse(text: string): SemVer {
  const v = parseSemver(text);
  if (!v)
    throw new TypeError(`not a semantic version (MAJOR.MINOR.PATCH): ${JSON.stringify(text)}`);
  return v;
}

/** zod schema for a `MAJOR.MINOR.PATCH` version string. */
export const SemverString = z
  .string()
  .trim()
  .refine((s) => parseSemver(s) !== undefined, {
    message: 'must be a semantic version MAJOR.MINOR.PATCH, e.g. "2.1.0"',
  });
