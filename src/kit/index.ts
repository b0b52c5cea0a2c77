/**
 * A hardening kit for people who write MCP servers with the official SDK, so the servers behind
 * the gateway are hard to misuse on their own:
 * - `defineTool`: strict input validation against the tool's JSON Schema (unknown properties and
 *   out-of-range values are refused, whatever the schema forgot to say), structured results, and an
 *   operation-log hook called for every call;
 * - `runProgram`: run a program with an argument array, never a shell string, with a timeout and
 *   a bound on output.
 */
import { execFile } from 'node:child_process';
import { Ajv, type ValidateFunction } from 'ajv';
import { fromJsonSchema, type McpServer } from '@modelcontextprotocol/server';
import { LocalError } from '../errors.js';

export interface OperationRecord {
  tool: string;
  arguments: unknown;
  ok: boolean;
  ms: number;
  error?: string;
}

interface ToolDefinition<A> {
  name: string;
  description: string;
  /** JSON Schema of the arguments; objects are closed (`additionalProperties: false`) unless they say otherwise. */
  inputSchema: Record<string, unknown>;
  annotations?: {
    readOnlyHint?: boolean;
    destructiveHint?: boolean;
    idempotentHint?: boolean;
    openWorldHint?: boolean;
  };
  /** Return plain data: it becomes `structuredContent` and a JSON text block. */
  handler: (args: A) => Promise<unknown> | unknown;
}

interface KitOptions {
  /** Called after every call, successful or not (an operation log). */
  onOperation?: (record: OperationRecord) => void;
}

/** Close every object schema that does not say otherwise: unknown properties are refused. */
export function closeSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(closeSchema);
  if (!schema || typeof schema !== 'object') return schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) out[k] = closeSchema(v);
  if (out.type === 'object' && out.additionalProperties === undefined) out.additionalProperties = false;
  return out;
}

class ToolInputError extends LocalError {
  constructor(readonly problems: string[]) {
    super('tool_input', `invalid arguments: ${problems.join('; ')}`);
  }
}

const ajv = new Ajv({ allErrors: true, strict: false });

/** A validator for a tool's arguments: throws ToolInputError naming every problem. */
function strictValidator<A>(inputSchema: Record<string, unknown>): (args: unknown) => A {
  const validate: ValidateFunction = ajv.compile(closeSchema(inputSchema) as object);
  return (args) => {
    if (validate(args)) return args as A;
    const problems = (validate.errors ?? []).map((e) => {
      const where = e.instancePath ? e.instancePath.slice(1).replace(/\//g, '.') : 'arguments';
      const extra = (e.params as { additionalProperty?: string }).additionalProperty;
      return extra ? `${where}: unknown property "${extra}"` : `${where}: ${e.message ?? 'invalid'}`;
    });
    throw new ToolInputError(problems);
  };
}

/** Register a tool with strict validation, structured results and the operation hook. */
export function defineTool<A>(server: McpServer, tool: ToolDefinition<A>, options: KitOptions = {}): void {
  const check = strictValidator<A>(tool.inputSchema);
  server.registerTool(
    tool.name,
    {
      description: tool.description,
      inputSchema: fromJsonSchema(closeSchema(tool.inputSchema) as Record<string, unknown>),
      ...(tool.annotations ? { annotations: tool.annotations } : {})
    },
    async (raw: unknown) => {
      const started = performance.now();
      const report = (ok: boolean, error?: string) =>
        options.onOperation?.({
          tool: tool.name,
          arguments: raw,
          ok,
          ms: Math.round((performance.now() - started) * 1000) / 1000,
          ...(error ? { error } : {})
        });
      let args: A;
      try {
        args = check(raw);
      } catch (err) {
        report(false, (err as Error).message);
        return { content: [{ type: 'text' as const, text: (err as Error).message }], isError: true };
      }
      try {
        const data = await tool.handler(args);
        report(true);
        const structured =
          data !== null && typeof data === 'object' && !Array.isArray(data)
            ? (data as Record<string, unknown>)
            : { result: data };
        return {
          content: [{ type: 'text' as const, text: JSON.stringify(data) }],
          structuredContent: structured
        };
      } catch (err) {
        report(false, (err as Error).message);
        return {
          content: [{ type: 'text' as const, text: `failed: ${(err as Error).message}` }],
          isError: true
        };
      }
    }
  );
}

interface RunOptions {
  cwd?: string;
  /** The whole environment of the program (default: only PATH). */
  env?: Record<string, string>;
  timeoutMs?: number;
  /** Output beyond this many bytes fails the run (default 1 MiB). */
  maxOutputBytes?: number;
}

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Run `program` with `args` as separate arguments: no shell ever sees them, so `; rm -rf ~` in an
 * argument is just text. Refuses a program name that is not a plain path, and NUL bytes anywhere.
 */
export function runProgram(
  program: string,
  args: readonly string[],
  options: RunOptions = {}
): Promise<RunResult> {
  if (typeof program !== 'string' || program === '' || /[\0\s;&|`$<>]/.test(program)) {
    return Promise.reject(new Error(`not a program name: ${JSON.stringify(program)}`));
  }
  for (const a of args) {
    if (typeof a !== 'string') return Promise.reject(new Error('every argument must be a string'));
    if (a.includes('\0')) return Promise.reject(new Error('arguments cannot contain NUL bytes'));
  }
  return new Promise((resolve, reject) => {
    execFile(
      program,
      [...args],
      {
        shell: false,
        cwd: options.cwd,
        env: options.env ?? { PATH: process.env.PATH ?? '/usr/bin:/bin' },
        timeout: options.timeoutMs ?? 30_000,
        maxBuffer: options.maxOutputBytes ?? 1024 * 1024,
        windowsHide: true
      },
      (err, stdout, stderr) => {
        if (err && typeof (err as { code?: unknown }).code !== 'number') {
          reject(err);
          return;
        }
        resolve({ code: err ? Number((err as { code: number }).code) : 0, stdout, stderr });
      }
    );
  });
}
