// Types of scripts/test-deps.mjs, for the tests that find their tools through it.
export interface ToolEntry {
  tool: string;
  pkg: string;
  why: string;
}
export const TOOLS: ToolEntry[];
export function which(name: string, env?: NodeJS.ProcessEnv): string | undefined;
export function postgresBinDir(env?: NodeJS.ProcessEnv): string | undefined;
export function chromiumPath(env?: NodeJS.ProcessEnv): string | undefined;
export function findTools(env?: NodeJS.ProcessEnv): Record<string, string | undefined>;
export function missingTools(env?: NodeJS.ProcessEnv): ToolEntry[];
export function packagesFor(missing: ToolEntry[]): string[];
export function missingNote(tool: string): string;
export function main(
  env?: NodeJS.ProcessEnv,
  log?: (line: string) => void,
  warn?: (line: string) => void
): number;
