import { EnvError } from '@timed/schema/errors';
import { describe, expect, it } from 'vitest';
import { readCliEnv } from './env.js';

describe('readCliEnv', () => {
  it('reads the CLI variables, blanks as unset', () => {
    expect(
      readCliEnv({
        DATABASE_URL: 'postgres://u@127.0.0.1:5432/timed',
        TIMED_MIGRATIONS_DIR: ' ',
        TIMED_BACKUP_DIR: '/var/backups',
        TIMED_CLEANUP_MIN_DAYS: '5',
      }),
    ).toEqual({
      DATABASE_URL: 'postgres://u@127.0.0.1:5432/timed',
      TIMED_BACKUP_DIR: '/var/backups',
      TIMED_CLEANUP_MIN_DAYS: '5',
    });
  });

  it('requires DATABASE_URL as a postgres:// URL, naming it', () => {
    for (const DATABASE_URL of [undefined, '', 'mysql://u@h/db']) {
      let error: unknown;
      try {
        readCliEnv({ DATABASE_URL });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(EnvError);
      expect((error as EnvError).variables).toEqual(['DATABASE_URL']);
    }
  });
});
