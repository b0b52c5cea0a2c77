/**
 * Argument validation against the upstream tool's own inputSchema (ajv), before anything is
 * forwarded. Validators are compiled once per distinct schema and reused. A schema that cannot be
 * compiled fails closed: the call is refused, not waved through.
 */
import { createHash } from 'node:crypto';
import { Ajv, type ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { Resolved, Stage } from '../core/pipeline.js';
import { GatewayError } from '../errors.js';

// ajv-formats is CommonJS; its default export arrives wrapped under ESM.
type AddFormats = (ajv: unknown) => unknown;
const addFormats: AddFormats =
  (addFormatsModule as unknown as { default?: AddFormats }).default ??
  (addFormatsModule as unknown as AddFormats);

export interface ArgumentValidator {
  /** Undefined when the arguments are valid; otherwise a short description of what is wrong. */
  check(schema: Record<string, unknown> | undefined, args: Record<string, unknown>): string | undefined;
}

export function createArgumentValidator(): ArgumentValidator {
  const opts = { allErrors: false, strict: false, validateFormats: true, allowUnionTypes: true } as const;
  const draft7 = new Ajv(opts);
  const draft2020 = new Ajv2020(opts);
  addFormats(draft7);
  addFormats(draft2020);
  const cache = new Map<string, ValidateFunction | Error>();
  // Upstream tool lists are cached, so the same schema object comes back call after call: look it
  // up by identity first, and hash its text only the first time it is seen.
  const byObject = new WeakMap<object, ValidateFunction | Error>();

  const compile = (schema: Record<string, unknown>): ValidateFunction | Error => {
    const known = byObject.get(schema);
    if (known) return known;
    const key = createHash('sha256').update(JSON.stringify(schema)).digest('base64');
    const hit = cache.get(key);
    if (hit) {
      byObject.set(schema, hit);
      return hit;
    }
    let out: ValidateFunction | Error;
    try {
      const { $id: _ignored, ...body } = schema;
      const uses2020 = typeof schema.$schema === 'string' && schema.$schema.includes('2020-12');
      const ajv = uses2020 ? draft2020 : draft7;
      const { $schema: _s, ...rest } = body;
      out = ajv.compile(rest);
    } catch (err) {
      out = err instanceof Error ? err : new Error(String(err));
    }
    if (cache.size > 5000) cache.clear();
    cache.set(key, out);
    byObject.set(schema, out);
    return out;
  };

  return {
    check(schema, args) {
      if (schema === undefined) return 'tool declares no inputSchema';
      const validate = compile(schema);
      if (validate instanceof Error) return `tool inputSchema cannot be compiled: ${validate.message}`;
      if (validate(args)) return undefined;
      const err = validate.errors?.[0];
      if (!err) return 'arguments do not match the tool schema';
      const where =
        err.instancePath === '' ? 'arguments' : `arguments${err.instancePath.replace(/\//g, '.')}`;
      return `${where} ${err.message ?? 'are invalid'}`;
    }
  };
}

/** The argument stage: refuse arguments the tool's own schema rejects, before they leave. */
export function validateStage(validator: ArgumentValidator): Stage<Resolved> {
  return {
    name: 'validate',
    run(ctx) {
      const problem = validator.check(ctx.toolDef.inputSchema, ctx.args);
      if (problem) throw new GatewayError('invalid_arguments', problem);
    }
  };
}
