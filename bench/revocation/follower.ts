/**
 * The second process of the revocation-delay benchmark:
 *   node --import tsx bench/revocation/follower.ts <sqlite|redis|postgres> <file-prefix-or-schema> <secret-hex>
 *   node --import tsx bench/revocation/follower.ts url <store-url> <secret-hex>
 * (spawned with an IPC channel). It runs its own SessionManager on the same
 * store. For each `{ token }` it receives it verifies the token once (so it
 * sits in the verify cache, the worst case), answers `{ ready: true }`, then
 * verifies again and again, letting I/O in between, until the token is
 * rejected as revoked, and answers `{ rejectedAt }`: process.hrtime.bigint(),
 * a monotonic clock shared by every process of the machine.
 */
import { setImmediate as turn } from 'node:timers/promises';
import { isBatonError } from '../../src/core/errors.ts';
import { openStore } from '../../src/stores/open.ts';
import { hsFixtureFromText, managerFor } from '../lib/fixtures.ts';
import { openShared } from '../lib/stores.ts';

const [name, location, secret] = process.argv.slice(2);
if (
  (name !== 'sqlite' && name !== 'redis' && name !== 'postgres' && name !== 'url') ||
  !location ||
  !secret ||
  !process.send
) {
  process.stderr.write(
    'usage: follower.ts <sqlite|redis|postgres|url> <location-or-store-url> <secret> (with an IPC channel)\n',
  );
  process.exit(2);
}
const send = (message: unknown) => process.send!(message);
const fixture = await hsFixtureFromText(secret);
const store = name === 'url' ? await openStore(location) : await openShared(name, location);
const manager = managerFor(fixture, {}, store);
await manager.ready;

process.on('message', async (message: { token?: string; stop?: boolean }) => {
  if (message.stop) {
    await manager.close();
    process.exit(0);
  }
  const token = message.token!;
  manager.verifyAccessToken(token);
  send({ ready: true });
  const deadline = process.hrtime.bigint() + 10_000_000_000n;
  for (;;) {
    try {
      manager.verifyAccessToken(token);
    } catch (error) {
      if (isBatonError(error) && error.code === 'token_revoked') {
        send({ rejectedAt: String(process.hrtime.bigint()) });
        return;
      }
      throw error;
    }
    if (process.hrtime.bigint() > deadline) {
      send({ error: 'not revoked within 10 s' });
      return;
    }
    await turn();
  }
});
send({ started: true });
