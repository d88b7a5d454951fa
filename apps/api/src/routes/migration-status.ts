import {
  barCountsBySource,
  type Db,
  evaluateCriteria,
  MIN_DAYS_OF_NEW_DATA,
  migrationFacts,
} from '@timed/db';
import { ErrorBody } from '@timed/schema';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { responseSchema } from '../json-schema.js';
import { MigrationStatusResponse } from '../schemas.js';

const statusJson = responseSchema(MigrationStatusResponse);
const errorJson = responseSchema(ErrorBody);

/** Query of `GET /migration/status`. */
const MigrationStatusQuery = z.object({
  min_days: z.coerce
    .number()
    .min(0)
    .optional()
    .describe(
      `Days of trades bars since the switch that days_of_new_data wants (default ${MIN_DAYS_OF_NEW_DATA}; ` +
        'use the TIMED_CLEANUP_MIN_DAYS the cleanup commands use)',
    ),
});

/** `GET /migration/status`: the seed's success criteria computed live, plus its counts. */
export function registerMigrationStatus(app: FastifyInstance, deps: { db: Db }): void {
  app.withTypeProvider<ZodTypeProvider>().get(
    '/migration/status',
    {
      schema: {
        summary: 'MBP-1 -> TRADES migration: success criteria, computed live',
        description:
          'Each criterion of the migration plan with its value and pass/fail (the gates of ' +
          'timed-db legacy soft-delete/archive/delete/purge), the bar counts per ' +
          'data_source/is_legacy and the old-vs-new bars per hour over the last day.',
        tags: ['operations'],
        querystring: MigrationStatusQuery,
        response: { 200: statusJson, 503: errorJson },
      },
    },
    async (request) => {
      const [facts, counts] = await Promise.all([
        migrationFacts(deps.db),
        barCountsBySource(deps.db),
      ]);
      const criteria = evaluateCriteria(facts, { minDays: request.query.min_days });
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
