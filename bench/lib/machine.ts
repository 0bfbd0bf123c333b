/** What the figures were measured on. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, freemem, loadavg, type as osType, release, totalmem } from 'node:os';

const PACKAGES = [
  'jose',
  'fast-jwt',
  'jsonwebtoken',
  'hono',
  '@hono/node-server',
  'fastify',
  '@fastify/jwt',
  'express',
  'express-jwt',
  'better-auth',
  'autocannon',
  'better-sqlite3',
  'ioredis',
  'pg',
  'tsx',
  '@opentelemetry/api',
  '@opentelemetry/sdk-metrics',
  '@opentelemetry/sdk-trace-base',
];

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  /** Cores this process may run on (taskset / cgroup affinity), when known. */
  affinity: string | null;
  memoryGiB: number;
  freeMemoryGiB: number;
  loadAverage: number[];
  os: string;
  node: string;
  v8: string;
  openssl: string;
  packages: Record<string, string | null>;
  batonCommit: string | null;
}

function packageVersion(name: string): string | null {
  try {
    const text = readFileSync(new URL(`../../node_modules/${name}/package.json`, import.meta.url), 'utf8');
    return (JSON.parse(text) as { version?: string }).version ?? null;
  } catch {
    return null;
  }
}

function affinity(): string | null {
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    return /Cpus_allowed_list:\s*(\S+)/.exec(status)?.[1] ?? null;
  } catch {
    return null;
  }
}

function commit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return null;
  }
}

export function machineInfo(): MachineInfo {
  const list = cpus();
  const gib = (bytes: number) => Math.round((bytes / 2 ** 30) * 10) / 10;
  return {
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    cores: list.length,
    affinity: affinity(),
    memoryGiB: gib(totalmem()),
    freeMemoryGiB: gib(freemem()),
    loadAverage: loadavg().map((value) => Math.round(value * 100) / 100),
    os: `${osType()} ${release()}`,
    node: process.version,
    v8: process.versions.v8,
    openssl: process.versions.openssl ?? 'unknown',
    packages: Object.fromEntries(PACKAGES.map((name) => [name, packageVersion(name)])),
    batonCommit: commit(),
  };
}
