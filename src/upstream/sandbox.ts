/**
 * Least privilege for stdio upstreams on Linux, from util-linux tools, each optional:
 * - `network: false`: a fresh network namespace (`unshare --net`), so the server has no
 *   interface but its own loopback and cannot reach anything;
 * - resource limits (`prlimit`): address space, CPU time, open files;
 * - another user and group (`setpriv`), with supplementary groups cleared; needs a root gateway.
 * The command line is wrapped in that order, outermost first, so privileges are dropped last.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { SandboxConfig } from '../config/types.js';

interface Launch {
  command: string;
  args: string[];
}

function lookupId(file: '/etc/passwd' | '/etc/group', name: string): number {
  if (/^\d+$/.test(name)) return Number(name);
  const line = readFileSync(file, 'utf8')
    .split('\n')
    .find((l) => l.split(':')[0] === name);
  const id = line?.split(':')[2];
  if (id === undefined)
    throw new Error(`sandbox: no such ${file === '/etc/passwd' ? 'user' : 'group'} "${name}"`);
  return Number(id);
}

const available = new Map<string, boolean>();
function hasTool(tool: string): boolean {
  let ok = available.get(tool);
  if (ok === undefined) {
    try {
      execFileSync(tool, ['--version'], { stdio: 'ignore' });
      ok = true;
    } catch {
      ok = false;
    }
    available.set(tool, ok);
  }
  return ok;
}

function need(tool: string, option: string): void {
  if (process.platform !== 'linux') throw new Error(`sandbox.${option} needs Linux`);
  if (!hasTool(tool)) throw new Error(`sandbox.${option} needs the util-linux tool "${tool}"`);
}

let pdeathsig: boolean | undefined;
/** Does this host's setpriv set a parent-death signal (Linux, util-linux 2.33 or later)? */
function hasPdeathsig(): boolean {
  if (pdeathsig === undefined) {
    pdeathsig = false;
    if (process.platform === 'linux' && hasTool('setpriv')) {
      try {
        pdeathsig = execFileSync('setpriv', ['--help'], { encoding: 'utf8' }).includes('--pdeathsig');
      } catch {
        pdeathsig = false;
      }
    }
  }
  return pdeathsig;
}

/**
 * Have the kernel kill the process when the gateway dies, however it dies (a crash, SIGKILL), where
 * the host can (Linux with setpriv). Elsewhere the child still sees its stdin close, which ends a
 * stdio server that reads it. Apply it before `sandboxed`: a change of user clears the signal, so
 * it has to be set innermost, after any user change.
 */
export function dieWithParent(launch: Launch): Launch {
  if (!hasPdeathsig()) return launch;
  return { command: 'setpriv', args: ['--pdeathsig', 'KILL', '--', launch.command, ...launch.args] };
}

/** Wrap a command in the sandbox tools its options ask for; throws when they cannot be had. */
export function sandboxed(launch: Launch, sandbox: SandboxConfig | undefined): Launch {
  if (!sandbox) return launch;
  let { command, args } = launch;
  const wrap = (tool: string, toolArgs: string[]) => {
    args = [...toolArgs, '--', command, ...args];
    command = tool;
  };
  if (sandbox.user !== undefined || sandbox.group !== undefined) {
    need('setpriv', 'user');
    const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
    if (!isRoot) throw new Error('sandbox.user and sandbox.group need the gateway to run as root');
    const uid = sandbox.user !== undefined ? lookupId('/etc/passwd', sandbox.user) : undefined;
    const gid = sandbox.group !== undefined ? lookupId('/etc/group', sandbox.group) : undefined;
    wrap('setpriv', [
      ...(uid !== undefined ? [`--reuid=${uid}`] : []),
      ...(gid !== undefined ? [`--regid=${gid}`] : []),
      '--clear-groups',
      '--no-new-privs'
    ]);
  }
  const limits: string[] = [];
  if (sandbox.memory_mb !== undefined) limits.push(`--as=${sandbox.memory_mb * 1024 * 1024}`);
  if (sandbox.cpu_seconds !== undefined) limits.push(`--cpu=${sandbox.cpu_seconds}`);
  if (sandbox.open_files !== undefined) limits.push(`--nofile=${sandbox.open_files}`);
  if (limits.length > 0) {
    need('prlimit', 'limits');
    wrap('prlimit', limits);
  }
  if (sandbox.network === false) {
    need('unshare', 'network');
    const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
    // Without root, a user namespace grants the right to make the network namespace.
    wrap('unshare', isRoot ? ['--net'] : ['--net', '--map-root-user']);
  }
  return { command, args };
}
