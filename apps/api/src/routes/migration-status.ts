import { barCountsBySource, type Db, evaluateCriteria, migrationFacts } from '@timed/db';
import { ErrorBody } from '@timed/schema';
import type { FastifyInstance } from 'fastify';
import { responseSchema } from '../json-schema.js';
import { MigrationStatusResponse } from '../schemas.js';

const statusJson = responseSchema(MigrationStatusResponse);
const errorJson = responseSchema(ErrorBody);

/** `GET /migration/status`: the seed's success criteria computed live, plus its counts. */
export function registerMigrationStatus(app: FastifyInstance, deps: { db: Db }): void {
  app.get(
    '/migration/status',
    {
      schema: {
        summary: 'MBP-1 -> TRADES migration: success criteria, computed live',
        description:
          'Each criterion of the migration plan with its value and pass/fail, the bar counts per ' +
          'data_source/is_legacy and the old-vs-new bars per hour over the last day.',
        tags: ['operations'],
        response: { 200: statusJson, 503: errorJson },
      },
    },
    async () => {
      const [facts, counts] = await Promise.all([
        migrationFacts(deps.db),
        barCountsBySource(deps.db),
      ]);
      const criteria = evaluateCriteria(facts);
      return {
        generated_at: facts.now,
        passed: criteria.every((c) => c.pass),
        criteria,
        // Nullable numbers must be numbers for the serializer's anyOf; the rest is numeric text.
        counts: counts.map((c) => ({
          ...c,
          total_volume: c.total_volume === null ? null : Number(c.total_volume),
        })),
        last_day_by_hour: facts.last_day_by_hour,
      };
    },
  );
}
