// Writes docs/errors.md from the error registry in src/errors.ts (built to dist/errors.js).
import { writeFileSync } from 'node:fs';
import { ERRORS } from '../dist/errors.js';

const rows = Object.entries(ERRORS)
  .map(
    ([code, e]) => `| \`${code}\` | ${e.rpc} | ${e.message} | ${e.kind} | ${e.fix.replace(/\|/g, '\\|')} |`
  )
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

HTTP answers given before any JSON-RPC handling:

| status | when |
|---|---|
| 400 | the body is not JSON (\`-32700\`), a 2025-era request without \`Mcp-Session-Id\`, or headers and body disagree |
| 401 | no bearer token, or an unknown one; the response carries \`WWW-Authenticate: Bearer\` |
| 403 | a session id presented by an identity other than the one that opened it; a foreign \`Host\` or \`Origin\` on a loopback listener |
| 404 | an unknown session id (start a new session) or an unknown path |
| 405 | a method the endpoint does not take |
| 413 | a request body over 4 MiB |

On stdio, a line that is not JSON gets \`-32700\` and JSON that is not a JSON-RPC message gets
\`-32600\`. Errors an upstream server returns itself pass through unchanged.
`;
writeFileSync(new URL('../docs/errors.md', import.meta.url), text);
