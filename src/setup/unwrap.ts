/**
 * `unwrap`: take Portcullis out from between an MCP client and its servers, losing nothing. The
 * newest backup `wrap` made says what the servers were; the client config as it is now says what
 * changed since. Servers `wrap` moved behind the gateway come back as they were; servers added to
 * the client config since, or edited since, stay as they are now, and the result names them; the
 * entry that started the gateway goes. When nothing changed since `wrap`, the backup is put back
 * byte for byte.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { detectFormat } from './clients.js';
import { unifiedDiff } from './diff.js';
import { SetupError } from './errors.js';
import { newestBackup, writeFileAtomic } from './files.js';
import { memberOf, parseJsonc, setValue, toValue } from './jsonc.js';
import { canonical } from './portcullis-yaml.js';
import { portcullisConfigOf, readText } from './wrap.js';

export interface UnwrapResult {
  clientPath: string;
  /** The backup the moved servers were taken from. */
  restored: string;
  clientBefore: string;
  clientAfter: string;
  diff: string;
  /** Servers `wrap` had moved behind the gateway, back as they were before it. */
  returned: string[];
  /** Servers added to the client config since `wrap`, kept as they are now. */
  added: string[];
  /** Servers changed in the client config since `wrap`, kept as they are now (not as backed up). */
  edited: string[];
  /** What the person should know: each added or edited server that was kept. */
  notes: string[];
  message: string;
}

type Servers = Record<string, unknown>;

interface ClientState {
  text: string;
  value: Record<string, unknown>;
  servers: Servers | undefined;
}

function readState(text: string, file: string, serversKey: string | undefined): ClientState {
  const root = parseJsonc(text, file);
  if (root.type !== 'object') throw new SetupError(`${file}: expected a JSON object at the top`, file);
  const value = toValue(root) as Record<string, unknown>;
  if (serversKey === undefined) return { text, value, servers: undefined };
  const member = memberOf(root, serversKey);
  if (member && member.type !== 'object') {
    throw new SetupError(`${file}: "${serversKey}" must be an object of servers`, file);
  }
  return { text, value, servers: member ? (toValue(member) as Servers) : undefined };
}

/** Everything but the servers, to tell whether anything else in the file changed since `wrap`. */
function restOf(value: Record<string, unknown>, serversKey: string): string {
  const { [serversKey]: _servers, ...rest } = value;
  return canonical(rest);
}

interface Merge {
  returned: string[];
  added: string[];
  edited: string[];
  /** Entries in the client config now that started the gateway, and go. */
  gateways: string[];
}

/** Which servers come back from the backup, which stay as they are now, which go. */
function mergeServers(saved: Servers, now: Servers, clientPath: string): Merge {
  const isGateway = (name: string) => portcullisConfigOf(name, now[name], clientPath) !== undefined;
  const merge: Merge = { returned: [], added: [], edited: [], gateways: [] };
  for (const name of Object.keys(saved)) {
    if (!(name in now) || isGateway(name)) merge.returned.push(name);
    else if (canonical(now[name]) !== canonical(saved[name])) merge.edited.push(name);
  }
  for (const name of Object.keys(now)) {
    if (name in saved) continue;
    if (isGateway(name)) merge.gateways.push(name);
    else merge.added.push(name);
  }
  return merge;
}

/** The client config now, with the gateway entries taken out and the moved servers put back. */
function mergedText(current: ClientState, saved: Servers, m: Merge, serversKey: string): string {
  if (current.servers === undefined) {
    const servers: Servers = {};
    for (const name of Object.keys(saved)) servers[name] = saved[name];
    return setValue(current.text, [serversKey], servers);
  }
  let text = current.text;
  for (const name of m.gateways) text = setValue(text, [serversKey, name], undefined);
  for (const name of m.returned) text = setValue(text, [serversKey, name], saved[name]);
  return text;
}

function quoted(names: string[]): string {
  return names.map((n) => `"${n}"`).join(', ');
}

/**
 * Undo `wrap` on a client config: the servers it moved come back from its newest backup, and
 * whatever was added or edited in the client config since stays.
 */
export function unwrap(clientConfigPath: string, options: { dryRun?: boolean } = {}): UnwrapResult {
  const clientPath = resolve(clientConfigPath);
  const backup = newestBackup(clientPath);
  if (!backup) {
    throw new SetupError(`no backup of ${clientPath} to restore (wrap writes one next to it)`, clientPath);
  }
  const bytes = readFileSync(backup);
  const savedText = bytes.toString('utf8');
  const before = existsSync(clientPath) ? readText(clientPath) : '';

  const { spec } = detectFormat(clientPath, readState(savedText, backup, undefined).value);
  const saved = readState(savedText, backup, spec.serversKey);
  let after = savedText;
  let merge: Merge = { returned: Object.keys(saved.servers ?? {}), added: [], edited: [], gateways: [] };
  if (before !== '') {
    const current = readState(before, clientPath, spec.serversKey);
    merge = mergeServers(saved.servers ?? {}, current.servers ?? {}, clientPath);
    const untouched =
      merge.added.length === 0 &&
      merge.edited.length === 0 &&
      restOf(current.value, spec.serversKey) === restOf(saved.value, spec.serversKey);
    if (!untouched) after = mergedText(current, saved.servers ?? {}, merge, spec.serversKey);
  }
  if (!options.dryRun) writeFileAtomic(clientPath, after === savedText ? bytes : after);

  const notes = [
    ...merge.added.map((n) => `server "${n}" was added to ${clientPath} after wrap; it stays as it is now`),
    ...merge.edited.map(
      (n) =>
        `server "${n}" was changed in ${clientPath} after wrap; it stays as it is now, not as ${backup} has it`
    )
  ];
  const kept = merge.added.length + merge.edited.length;
  return {
    clientPath,
    restored: backup,
    clientBefore: before,
    clientAfter: after,
    diff: unifiedDiff(before, after, clientPath, clientPath),
    returned: merge.returned,
    added: merge.added,
    edited: merge.edited,
    notes,
    message:
      `${options.dryRun ? 'would restore' : 'restored'} ${clientPath} from ${backup}` +
      (merge.returned.length > 0 ? ` (servers ${quoted(merge.returned)} back as they were)` : '') +
      (kept > 0 ? `; kept ${kept} server(s) added or changed since wrap as they are now` : '') +
      '; the servers stay in the Portcullis config (remove them there if they are no longer wanted)'
  };
}
