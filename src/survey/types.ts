/** What a scan reports: the servers it reached and what it found (read by the text and SARIF writers). */
import type { Severity } from '../scan/index.js';

export interface ServerFinding {
  server: string;
  /** The file the server is configured in. */
  source?: string;
  /** The tool, prompt or resource, as the agent would see it (`server__name`), or the server. */
  subject: string;
  rule: string;
  severity: Severity;
  message: string;
}

interface ScannedServer {
  name: string;
  /** The file the server is configured in, and its name there (a client's name may differ). */
  source?: string;
  key?: string;
  tools: number;
  prompts: number;
  resources: number;
  error?: string;
}

export interface ScanReport {
  servers: ScannedServer[];
  findings: ServerFinding[];
}
