/**
 * A held call as data: what the approval queue keeps, shared state stores and the admin API shows.
 * Kept apart from the queue so that the shared-state contract (../state/bus.ts) can name it
 * without importing the queue that uses that contract.
 */
export type HeldStatus = 'pending' | 'approved' | 'denied' | 'expired' | 'cancelled';

export interface ApprovalDecision {
  by: string;
  decision: 'approve' | 'deny';
  at: string;
  note?: string;
}

export interface HeldCall {
  id: string;
  status: HeldStatus;
  createdAt: string;
  expiresAt: string;
  decidedAt?: string;
  identity: string;
  roles: string[];
  agent?: string;
  session: string;
  server: string;
  tool: string;
  name: string;
  arguments: unknown;
  rules: string[];
  reason: string;
  risk: number;
  policyVersion: string;
  required: number;
  approverRoles: string[];
  decisions: ApprovalDecision[];
  /** Set when an approved call was refused after all (the policy changed while it waited). */
  refused?: string;
}
