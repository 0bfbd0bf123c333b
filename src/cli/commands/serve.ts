import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isBatonError } from '../../core/errors.ts';
import { ALGORITHMS } from '../../tokens/types.ts';
import { CommandFailure, EXIT, parse, stringOption, UsageError } from '../args.ts';
import { type CommandContext, type CommandResult, defineCommand, EXIT_CODES_HELP } from '../command.ts';
import { parseStoreUrl } from '../open-store.ts';

export interface ServeArgs {
  /** Environment overrides from the options (PORT, HOST, BATON_STORE, ...). */
  env: Record<string, string>;
}

const NAME = 'serve';

export const serveHelp = `Usage: baton serve [--port N] [--host HOST] [--store URL] [--data-dir DIR] [--alg ALG]

Runs the demo server (what "npm start" runs), configured from the same
environment variables; an option overrides its variable. It prints
"Baton demo listening on <url>" once it accepts connections and stops
cleanly on Ctrl+C (SIGINT) or SIGTERM.

Options:
  --port N         PORT: port to listen on (default 3000; 0 picks a free one)
  --host HOST      HOST: address to bind (default 127.0.0.1)
  --store URL      BATON_STORE: sqlite:PATH (default sqlite:./baton.db), memory, or
                   another store URL the demo accepts (redis://, postgres://).
                   As an option, a relative sqlite path is relative to the current
                   directory (like every baton command); in BATON_STORE it is
                   relative to the data directory, as for npm start.
  --data-dir DIR   BATON_DATA_DIR: where the generated keys (and the default
                   SQLite file) live (default ./.baton)
  --alg ALG        BATON_ALG: EdDSA (default), HS256, ES256 or RS256
  -h, --help       show this help

Other variables: BATON_ACCESS_TTL, BATON_REFRESH_TTL, BATON_GRACE,
BATON_SIGNING_KEY, BATON_COOKIES, BATON_ADAPTER, BATON_METRICS (see the
README). The demo runs on Hono by default: install hono and
@hono/node-server, or set BATON_ADAPTER=express or fastify and install that
framework. BATON_METRICS=1 serves GET /metrics (Prometheus) and needs
@opentelemetry/api, @opentelemetry/sdk-metrics and
@opentelemetry/exporter-prometheus installed.

${EXIT_CODES_HELP}
  serve: 2 also for a bad environment variable; 1 when the server cannot start
  (e.g. the port is taken).
`;

export function parseServe(argv: readonly string[], context: Pick<CommandContext, 'cwd'>): ServeArgs {
  const parsed = parse(
    NAME,
    argv,
    {
      port: { type: 'string' },
      host: { type: 'string' },
      store: { type: 'string' },
      'data-dir': { type: 'string' },
      alg: { type: 'string' },
    },
    { min: 0, max: 0, names: '' },
  );
  const env: Record<string, string> = {};
  const port = stringOption(parsed, 'port');
  if (port !== undefined) {
    if (!/^\d+$/.test(port) || Number(port) > 65535) {
      throw new UsageError(`--port must be a port number (0-65535), got ${JSON.stringify(port)}`, NAME);
    }
    env.PORT = port;
  }
  const host = stringOption(parsed, 'host');
  if (host !== undefined) {
    if (host === '') throw new UsageError('--host must not be empty', NAME);
    env.HOST = host;
  }
  const store = stringOption(parsed, 'store');
  if (store !== undefined) {
    const url = parseStoreUrl(store, NAME, { allowMemory: true, cwd: context.cwd });
    env.BATON_STORE = url.kind === 'sqlite' ? `sqlite:${url.path}` : store.trim();
  }
  const dataDir = stringOption(parsed, 'data-dir');
  if (dataDir !== undefined) {
    if (dataDir === '') throw new UsageError('--data-dir must not be empty', NAME);
    env.BATON_DATA_DIR = dataDir;
  }
  const alg = stringOption(parsed, 'alg');
  if (alg !== undefined) {
    const found = ALGORITHMS.find((name) => name.toLowerCase() === alg.toLowerCase());
    if (found === undefined)
      throw new UsageError(
        `--alg must be one of EdDSA, HS256, ES256, RS256, got ${JSON.stringify(alg)}`,
        NAME,
      );
    env.BATON_ALG = found;
  }
  return { env };
}

interface RunningDemo {
  url: string;
  close(): Promise<void>;
}

interface Demo {
  configFromEnv(env: Record<string, string | undefined>): unknown;
  startDemo(config: unknown): Promise<RunningDemo>;
  isConfigError(error: unknown): boolean;
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The demo as this CLI runs: its TypeScript source next to src/ in a checkout
 * (the CLI itself then runs from source, under tsx), or the build in
 * dist/demo/ next to dist/cli/ (`npm run build`, an installed package).
 */
function demoModules(): { server: URL; config: URL } {
  const fromSource = import.meta.url.endsWith('.ts');
  const dir = new URL(fromSource ? '../../../demo/' : '../../demo/', import.meta.url);
  const ext = fromSource ? '.ts' : '.js';
  return { server: new URL(`server${ext}`, dir), config: new URL(`config${ext}`, dir) };
}

/** The package a missing module belongs to (`@hono/node-server/x` -> `@hono/node-server`). */
function missingPackage(error: unknown): string | undefined {
  if ((error as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') return undefined;
  const name = /Cannot find package '([^']+)'/.exec(reasonOf(error))?.[1];
  if (name === undefined) return undefined;
  const parts = name.split('/');
  return name.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

async function loadDemo(): Promise<Demo> {
  const urls = demoModules();
  if (!existsSync(fileURLToPath(urls.server)) || !existsSync(fileURLToPath(urls.config))) {
    throw new CommandFailure(
      `the demo server is not available in this installation (${fileURLToPath(urls.server)} is missing)`,
    );
  }
  let server: Record<string, unknown>;
  let config: Record<string, unknown>;
  try {
    config = (await import(urls.config.href)) as Record<string, unknown>;
    server = (await import(urls.server.href)) as Record<string, unknown>;
  } catch (error) {
    throw new CommandFailure(`cannot load the demo server: ${reasonOf(error)}`);
  }
  const { startDemo } = server;
  const { configFromEnv, DemoConfigError } = config;
  if (typeof startDemo !== 'function' || typeof configFromEnv !== 'function') {
    throw new CommandFailure('the demo server does not export startDemo and configFromEnv');
  }
  return {
    configFromEnv: configFromEnv as Demo['configFromEnv'],
    startDemo: startDemo as Demo['startDemo'],
    isConfigError: (error) => typeof DemoConfigError === 'function' && error instanceof DemoConfigError,
  };
}

export async function runServe(args: ServeArgs, context: CommandContext): Promise<CommandResult> {
  const demo = await loadDemo();
  let config: unknown;
  try {
    config = demo.configFromEnv({ ...context.env, ...args.env });
  } catch (error) {
    if (demo.isConfigError(error)) throw new UsageError(reasonOf(error), NAME);
    throw error;
  }
  let running: RunningDemo;
  try {
    running = await demo.startDemo(config);
  } catch (error) {
    const invalidOptions = isBatonError(error)
      ? error.code === 'invalid_options'
      : (error as { code?: string }).code === 'invalid_options';
    if (demo.isConfigError(error) || invalidOptions) throw new UsageError(reasonOf(error), NAME);
    if (isBatonError(error) && error.code === 'store_driver_missing') throw error;
    const missing = missingPackage(error);
    if (missing !== undefined) {
      // The demo runs on one framework (BATON_ADAPTER), which the app installs, not Baton.
      const install =
        missing === 'hono' || missing === '@hono/node-server' ? 'hono @hono/node-server' : missing;
      throw new CommandFailure(
        `the demo server needs ${missing}: npm install ${install} (or BATON_ADAPTER=express|fastify|hono)`,
      );
    }
    throw new CommandFailure(`the demo server cannot start: ${reasonOf(error)}`);
  }
  context.print(
    [
      `Baton demo listening on ${running.url}`,
      `JWKS: ${running.url}/.well-known/jwks.json`,
      'Demo users: thedude / abides (user), walter / calmerthanyouare (user, admin)',
      'Stop with Ctrl+C.',
      '',
    ].join('\n'),
  );
  const signal = await context.waitForShutdown();
  await running.close();
  return { code: EXIT.ok, stderr: `baton: ${signal}: demo server stopped\n` };
}

export const serveCommand = defineCommand({
  name: NAME,
  help: serveHelp,
  parse: parseServe,
  run: runServe,
});
