/**
 * The demo app: Baton's auth routes plus the demo API routes (demo/routes.ts),
 * on the framework BATON_ADAPTER names, through its Baton adapter.
 */
import type { DemoApp, DemoContext } from './routes.ts';

export const DEMO_ADAPTERS = ['hono', 'express', 'fastify'] as const;
export type DemoAdapter = (typeof DEMO_ADAPTERS)[number];

export const DEMO_CLIENT = { id: 'demo-client', secret: 'demo-secret' } as const;

export async function createDemoApp(adapter: DemoAdapter, ctx: DemoContext): Promise<DemoApp> {
  // Loaded on demand: a demo on Hono does not load Express or Fastify.
  switch (adapter) {
    case 'express':
      return (await import('./apps/express.ts')).createExpressDemo(ctx);
    case 'fastify':
      return (await import('./apps/fastify.ts')).createFastifyDemo(ctx);
    case 'hono':
      return (await import('./apps/hono.ts')).createHonoDemo(ctx);
  }
}
