import { jsonSchemaTransform } from 'fastify-type-provider-zod';
import { z } from 'zod';

/** A JSON Schema object as Fastify's serializer compiler (fast-json-stringify) takes it. */
export type JsonSchema = Record<string, unknown>;

/**
 * Turns a zod response schema into JSON Schema for Fastify's compiled serializer
 * (fast-json-stringify), which writes numeric text as JSON numbers and Dates as ISO strings without
 * reshaping rows first. The same object documents the response in OpenAPI.
 */
export function responseSchema(schema: z.ZodType, description?: string): JsonSchema {
  const { $schema: _drop, ...json } = z.toJSONSchema(schema, {
    target: 'draft-7',
    io: 'output',
    unrepresentable: 'any',
  }) as JsonSchema;
  return description ? { description, ...json } : json;
}

/**
 * @fastify/swagger transform: request schemas are zod (converted by fastify-type-provider-zod),
 * response schemas are already JSON Schema and pass through unchanged.
 */
export const openApiTransform: typeof jsonSchemaTransform = (document) => {
  const { schema } = document;
  if (!schema || !('response' in schema) || !schema.response) return jsonSchemaTransform(document);
  const { response, ...rest } = schema as Record<string, unknown>;
  const out = jsonSchemaTransform({ ...document, schema: rest } as typeof document);
  if ((out.schema as { hide?: boolean }).hide) return out;
  return { ...out, schema: { ...out.schema, response } } as typeof out;
};
