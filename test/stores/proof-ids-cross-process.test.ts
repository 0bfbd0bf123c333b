// The DPoP replay cache across processes: two processes sharing a Redis or a
// PostgreSQL remember the same proof ids at the same moment; for each id,
// exactly one of them may be told it is new.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PostgresStore } from '../../src/stores/postgres.ts';
import { Child } from '../support/child.ts';
import {
  DATABASE_URL,
  deleteRedisKeys,
  dropSchema,
  postgresSkip,
  REDIS_URL,
  redisSkip,
  type Skip,
  uniqueName,
} from '../support/services.ts';

const IDS = 300;

interface Backend {
  name: string;
  skip: Skip;
  setup(): Promise<{ args: string[]; cleanup(): Promise<void> }>;
}

const backends: Backend[] = [
  {
    name: 'Redis',
    skip: await redisSkip(),
    async setup() {
      const prefix = `${uniqueName('baton-proofs')}:`;
      return { args: ['redis', REDIS_URL, prefix], cleanup: () => deleteRedisKeys(prefix) };
    },
  },
  {
    name: 'PostgreSQL',
    skip: await postgresSkip(),
    async setup() {
      const schema = uniqueName('baton_proofs');
      // Migrated before the racers start, so that they race on rows, not on the migration.
      const store = new PostgresStore({ connectionString: DATABASE_URL, schema });
      await store.migrate();
      await store.close();
      return { args: ['postgres', DATABASE_URL, schema], cleanup: () => dropSchema(schema) };
    },
  },
];

for (const backend of backends) {
  describe(`DPoP proof ids across processes over ${backend.name}`, { skip: backend.skip }, () => {
    it(`two processes remember the same ${IDS} ids at once: each id is new to exactly one`, {
      timeout: 60_000,
    }, async (t) => {
      const { args, cleanup } = await backend.setup();
      const racers = ['forward', 'reverse'].map(
        (order) => new Child('proof-id-racer.ts', [...args, 'race', String(IDS), order]),
      );
      try {
        for (const r of racers) assert.equal(await r.next(), 'ready', r.stderr);
        for (const r of racers) r.send('go');
        const [a, b] = (await Promise.all(racers.map((r) => r.next()))).map(
          (line) => JSON.parse(line) as boolean[],
        );
        assert.equal(a!.length, IDS);
        assert.equal(b!.length, IDS);
        const both = a!.filter((first, i) => first && b![i]).length;
        const neither = a!.filter((first, i) => !first && !b![i]).length;
        assert.deepEqual({ both, neither }, { both: 0, neither: 0 });
        // How the ids split shows how much the calls interleaved (it depends on the machine's load).
        t.diagnostic(`process A was first for ${a!.filter(Boolean).length} of ${IDS} ids`);
      } finally {
        await Promise.all(racers.map((r) => r.kill()));
        await cleanup();
      }
    });
  });
}
