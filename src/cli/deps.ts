/** What the composing `cli.ts` hands every command's `register`. */
export interface CliDeps {
  /** The package version (`--version`, SARIF tool version). */
  version: string;
  /** `import.meta.url` of the `portcullis` entry script (dist/cli.js), for commands that start it again. */
  entry: string;
}
