// Writes docs/errors.md from the error registry in src/errors.ts (built to dist/errors.js).
import { writeFileSync } from 'node:fs';
import { ERRORS, LOCAL_ERRORS } from '../dist/errors.js';

const cell = (text) => text.replace(/\|/g, '\\|');
const entries = Object.entries(ERRORS);
const rows = entries
  .filter(([, e]) => e.status === undefined)
  .map(([code, e]) => `| \`${code}\` | ${e.rpc} | ${cell(e.message)} | ${e.kind} | ${cell(e.fix)} |`)
  .join('\n');
const httpRows = entries
  .filter(([, e]) => e.status !== undefined)
  .map(
    ([code, e]) =>
      `| \`${code}\` | ${e.rpc} | ${cell(e.message)} | ${e.kind} | ${e.status} | ${cell(e.fix)} |`
  )
  .join('\n');

const localRows = Object.entries(LOCAL_ERRORS)
  .map(([code, what]) => `| \`${code}\` | ${cell(what)} |`)
  .join('\n');

const text = `# Errors

Every refusal or failure the gateway sends an agent is a JSON-RPC error from one registry
(\`src/errors.ts\`; this page is generated from it by \`npm run docs\`). The message is short and names
the kind of refusal, never the rule that decided or its internals; the audit record carries the full
reason. \`error.data.code\` holds the stable string code. Gateway codes live in -32050..-32069.

Each code is of one kind. A \`refusal\` is the gateway saying no: the audit record has \`outcome: denied\`
and the call counts in \`portcullis_denials_total\`. A \`fault\` is something failing (an upstream, the
shared store, the audit log, the gateway itself): the record has \`outcome: error\`, keeps the policy's
decision if one was made, and the call is not counted as a denial.

| code | JSON-RPC | message | kind | how to fix |
|---|---|---|---|---|
${rows}

HTTP answers given before any JSON-RPC handling, from the same registry. The body is a JSON-RPC
error (the admin API answers \`{ "error": message }\`); \`429\` and \`503\` carry \`Retry-After\`, \`401\`
carries \`WWW-Authenticate: Bearer\` (on \`/mcp\` with \`resource_metadata\` when OAuth is configured,
and \`error="invalid_token"\` when a token was sent). Authentication refusals on \`/mcp\` (\`unauthenticated\`
401, \`rate_limited\` 429, \`state_unavailable\` 503), \`/metrics\` and the admin API are written to the audit log as
\`auth/failure\` (a locked-out address once per lockout; \`state_unavailable\` as a fault, \`outcome: error\`). A \`tools/call\` that needs a scope
the token lacks gets \`403\` with \`WWW-Authenticate: Bearer error="insufficient_scope", scope="..."\`
and \`insufficient_scope\` in the body. Where the SDK's own transport gives the same answer, the
JSON-RPC code is the SDK's (-32000, -32001) or JSON-RPC's (-32600, -32700).

| code | JSON-RPC | message | kind | HTTP status | how to fix |
|---|---|---|---|---|---|
${httpRows}

The SDK answers some malformed requests itself, with its own codes: \`400\` when the protocol headers and
the body disagree, \`406\` without an acceptable \`Accept\`, \`415\` for a body that is not
\`application/json\`.

On stdio, a line that is not JSON gets \`-32700\` and JSON that is not a JSON-RPC message gets
\`-32600\`. Errors an upstream server returns itself pass through unchanged.

## Local errors

Errors that stay inside the gateway or the command line, never sent to an agent as such, are
\`LocalError\`s from one list (\`LOCAL_ERRORS\` in \`src/errors.ts\`), each with a stable \`code\`:

| code | what it means |
|---|---|
${localRows}
`;
writeFileSync(new URL('../docs/errors.md', import.meta.url), text);
