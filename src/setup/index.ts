/**
 * Setting Portcullis up for a person: `portcullis init` writes a commented starter config, `wrap`
 * moves an MCP client's servers behind the gateway, `unwrap` undoes it from the backup,
 * keeping what changed in the client config since.
 */
export { CLIENT_FORMATS, isClientFormat, type ClientFormat } from './clients.js';
export type { SecretRef } from './convert.js';
export { unifiedDiff } from './diff.js';
export { SetupError } from './errors.js';
export { BACKUP_SUFFIX, listBackups, newestBackup } from './files.js';
export type { ServerEntry } from './portcullis-yaml.js';
export { LOCAL_SCHEMA_PATH, starterConfig, writeStarterConfig, type StarterOptions } from './starter.js';
export { unwrap, type UnwrapResult } from './unwrap.js';
export {
  defaultLaunch,
  wrap,
  type LaunchCommand,
  type MovedServer,
  type WrapOptions,
  type WrapResult
} from './wrap.js';
