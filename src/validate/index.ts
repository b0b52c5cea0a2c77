/**
 * Argument validation against the upstream tool's own inputSchema (ajv), before anything is
 * forwarded. Validators are compiled once per distinct schema and reused. A schema that cannot be
 * compiled fails closed: the call is refused, not waved through. The refusal tells the agent which
 * argument is wrong and what the schema expects (the schema is the tool's own, which the agent was
 * shown); never the value it sent.
 */
import { createHash } from 'node:crypto';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { Resolved, Stage } from '../core/pipeline.js';
import { GatewayError } from '../errors.js';

// ajv-formats is CommonJS; its default export arrives wrapped under ESM.
type AddFormats = (ajv: unknown) => unknown;
const addFormats: AddFormats =
  (addFormatsModule as unknown as { default?: AddFormats }).default ??
  (addFormatsModule as unknown as AddFormats);

interface ArgumentProblem {
  /** What is wrong, for the audit record. */
  detail: string;
  /** What the agent is told: which argument, and what the schema expects; never its value. */
  hint: string;
}

export interface ArgumentValidator {
  /** Undefined when the arguments are valid; otherwise what is wrong. */
  check(
    schema: Record<string, unknown> | undefined,
    args: Record<string, unknown>
  ): ArgumentProblem | undefined;
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
      if (schema === undefined) {
        return { detail: 'tool declares no inputSchema', hint: 'the tool declares no inputSchema' };
      }
      const validate = compile(schema);
      if (validate instanceof Error) {
        return {
          detail: `tool inputSchema cannot be compiled: ${validate.message}`,
          hint: "the tool's inputSchema cannot be compiled, so no call to it is accepted"
        };
      }
      if (validate(args)) return undefined;
      const err = validate.errors?.[0];
      if (!err)
        return {
          detail: 'arguments do not match the tool schema',
          hint: 'the arguments do not match the tool schema'
        };
      const where =
        err.instancePath === '' ? 'arguments' : `arguments${err.instancePath.replace(/\//g, '.')}`;
      return { detail: `${where} ${err.message ?? 'are invalid'}`, hint: argumentHint(schema, err) };
    }
  };
}

/** The argument stage: refuse arguments the tool's own schema rejects, before they leave. */
export function validateStage(validator: ArgumentValidator): Stage<Resolved> {
  return {
    name: 'validate',
    run(ctx) {
      const problem = validator.check(ctx.toolDef.inputSchema, ctx.args);
      if (problem) throw new GatewayError('invalid_arguments', problem.detail, { hint: problem.hint });
    }
  };
}

type Schema = Record<string, unknown>;

const asSchema = (v: unknown): Schema | undefined =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Schema) : undefined;

/** The schema of a property the schema declares, or undefined. */
function propertySchema(schema: Schema | undefined, name: string): Schema | undefined {
  const properties = asSchema(schema?.properties);
  return properties && Object.prototype.hasOwnProperty.call(properties, name)
    ? asSchema(properties[name])
    : undefined;
}

/** The schema of an array item, or undefined. */
function itemSchema(schema: Schema | undefined, index: number): Schema | undefined {
  const prefix = schema?.prefixItems ?? (Array.isArray(schema?.items) ? schema.items : undefined);
  if (Array.isArray(prefix))
    return asSchema(prefix[index]) ?? asSchema(schema?.additionalItems ?? schema?.items);
  return asSchema(schema?.items);
}

/**
 * Where an error is, named by what the schema declares: `"opts.mode"`, `"files[2]"`. A segment
 * the schema does not name (a key inside a free-form object) is not shown: keys there are data.
 */
function locate(
  schema: Schema,
  pointer: string
): { name: string; schema: Schema | undefined; complete: boolean } {
  const segments =
    pointer === ''
      ? []
      : pointer
          .slice(1)
          .split('/')
          .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  let name = '';
  let at: Schema | undefined = schema;
  for (const segment of segments) {
    const index = /^\d+$/.test(segment) ? Number(segment) : undefined;
    const declared: Schema | undefined = index === undefined ? propertySchema(at, segment) : undefined;
    if (declared) {
      name += name === '' ? segment : `.${segment}`;
      at = declared;
    } else if (index !== undefined && at?.type === 'array') {
      name += `[${index}]`;
      at = itemSchema(at, index);
    } else {
      return { name, schema: undefined, complete: false };
    }
  }
  return { name, schema: at, complete: true };
}

/** What a schema expects, in a few words: its type, or its allowed values. */
function expected(schema: Schema | undefined): string | undefined {
  if (!schema) return undefined;
  if (Array.isArray(schema.enum)) return `one of ${schema.enum.map((v) => JSON.stringify(v)).join(', ')}`;
  if (schema.const !== undefined) return JSON.stringify(schema.const);
  const type = schema.type;
  const types = Array.isArray(type)
    ? type.filter((t) => typeof t === 'string')
    : typeof type === 'string'
      ? [type]
      : [];
  if (types.length === 0) return undefined;
  const article = (t: string) => (/^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`);
  return types.map(article).join(' or ');
}

function declaredNames(schema: Schema | undefined): string[] {
  return Object.keys(asSchema(schema?.properties) ?? {});
}

/**
 * The public side of an ajv error: which argument, and what the schema expects. ajv's own words
 * name the schema's terms (a type, a format, a pattern, a bound), never the value checked.
 */
function argumentHint(schema: Schema, err: ErrorObject): string {
  const where = locate(schema, err.instancePath);
  const inside = where.name;
  const subject = (name: string) => (name === '' ? 'the arguments' : `argument "${name}"`);
  const withinUnnamed = where.complete ? '' : ' (in an entry of it)';
  switch (err.keyword) {
    case 'required': {
      const missing = (err.params as { missingProperty: string }).missingProperty;
      const name = inside === '' ? missing : `${inside}.${missing}`;
      const wants = where.complete ? expected(propertySchema(where.schema, missing)) : undefined;
      return `${subject(name)} is missing${withinUnnamed}${wants ? `; expected ${wants}` : ''}`;
    }
    case 'additionalProperties': {
      const extra = (err.params as { additionalProperty: string }).additionalProperty;
      const takes = where.complete ? declaredNames(where.schema) : [];
      const accepted = takes.length > 0 ? `; accepted: ${takes.join(', ')}` : '';
      // A top-level name is the agent's own argument name; a deeper key may be data: not repeated.
      if (inside === '' && where.complete)
        return `argument "${extra}" is not accepted by this tool${accepted}`;
      return `${subject(inside)} has a property the tool does not accept${withinUnnamed}${accepted}`;
    }
    case 'enum': {
      const allowed = (err.params as { allowedValues?: unknown[] }).allowedValues ?? [];
      return `${subject(inside)}${withinUnnamed} must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}`;
    }
    case 'const': {
      const allowed = (err.params as { allowedValue?: unknown }).allowedValue;
      return `${subject(inside)}${withinUnnamed} must be ${JSON.stringify(allowed)}`;
    }
    default:
      return `${subject(inside)}${withinUnnamed} ${err.message ?? 'is invalid'}`;
  }
}
