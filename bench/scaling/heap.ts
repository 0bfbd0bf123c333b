/**
 * Heap bytes per entry, run in its own process with --expose-gc:
 *   node --expose-gc --import tsx bench/scaling/heap.ts <count>
 * Measures the revoked-session set (RevocationList) and then the MemoryStore,
 * each from a settled heap to a settled heap, and prints one JSON line per
 * structure. Everything the structure keeps alive is counted, the id strings
 * included (a real process holds them too).
 */
import { randomBytes } from 'node:crypto';
import { RevocationList } from '../../src/sessions/revocation-list.ts';
import { MemoryStore } from '../../src/stores/memory.ts';
import { randomSession } from '../lib/stores.ts';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) {
  process.stderr.write('run with --expose-gc\n');
  process.exit(2);
}

/** Heap used plus ArrayBuffer backing stores, which live outside the V8 heap (the revoked set's fingerprint table is one). */
function settled(): number {
  for (let i = 0; i < 4; i++) gc!();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return heapUsed + arrayBuffers;
}

const count = Number(process.argv[2]);
if (!(count > 0)) {
  process.stderr.write('usage: heap.ts <count>\n');
  process.exit(2);
}
const now = Date.now();
let keep: unknown;

function report(kind: 'revoked' | 'sessions', before: number): void {
  const heapBytes = settled() - before;
  process.stdout.write(`${JSON.stringify({ kind, count, heapBytes, bytesPerEntry: heapBytes / count })}\n`);
}

{
  const before = settled();
  const list = new RevocationList({ now: () => now });
  for (let i = 0; i < count; i++) {
    // Ids as the store hands them over (22 base64url characters), each with its own expiry instant.
    list.add({ kind: 'session', id: randomBytes(16).toString('base64url'), expiresAt: now + 900_000 + i });
  }
  if (list.size !== count) throw new Error(`the set holds ${list.size} entries, not ${count}`);
  keep = list;
  report('revoked', before);
  keep = undefined;
}
{
  const before = settled();
  const store = new MemoryStore();
  // Two sessions per user on average, with the fields a login fills in.
  for (let i = 0; i < count; i++) await store.createSession(randomSession(`user-${i >> 1}`, now + i));
  keep = store;
  report('sessions', before);
}
if (keep === undefined) process.exit(1);
