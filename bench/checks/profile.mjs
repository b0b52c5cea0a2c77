// CPU profile of gateway.callTool with every check on (bench/checks' `on` variant, tools/call
// answered in process), for one build: where the gateway's own time per call goes.
//   node --cpu-prof --cpu-prof-dir=DIR bench/checks/profile.mjs [DIST] [CALLS]
//   node bench/overhead/profile-summary.mjs DIR/*.cpuprofile
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { configFeatures, writeBenchConfig } from '../support/configs.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const dist = resolve(process.argv[2] ?? join(ROOT, 'dist'));
const calls = Number(process.argv[3] ?? 30000);
const load = (p) => import(pathToFileURL(join(dist, p)).href);
const [{ loadConfig }, { createGateway }, { createLogger }] = await Promise.all([
  load('config/index.js'),
  load('core/gateway.js'),
  load('log.js')
]);
const work = mkdtempSync(join(tmpdir(), 'portcullis-profile-'));
const file = writeBenchConfig(work, { checks: true, features: await configFeatures(dist) });
const gateway = createGateway({ config: loadConfig(file), log: createLogger('silent') });
const who = gateway.auth.stdio();
const session = gateway.openSession(who.identity, 'stdio');
const echo = gateway.upstreams.get('echo');
await echo.listTools();
echo.request = async (method, params) => ({ content: [{ type: 'text', text: params.arguments.text }] });
const text = 'hello from the overhead benchmark';
for (let i = 0; i < calls; i++) await gateway.callTool(session, 'echo__echo', { text });
const t0 = process.hrtime.bigint();
for (let i = 0; i < calls; i++) await gateway.callTool(session, 'echo__echo', { text });
console.log(`${dist}: ${(Number(process.hrtime.bigint() - t0) / 1000 / calls).toFixed(1)} µs per call`);
await gateway.close?.();
rmSync(work, { recursive: true, force: true });
process.exit(0);
