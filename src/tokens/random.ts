import { randomFillSync } from 'node:crypto';

/**
 * Random bytes for token ids, drawn from a pool that is refilled by
 * randomFillSync (the CSPRNG) 4 KiB at a time. Each byte is handed out once.
 *
 * Why: on Node 20 (OpenSSL 3.0) every randomBytes() call pays a fixed cost of
 * several microseconds whatever its size, more than signing an HS256 token;
 * batching makes a 16-byte id cost a copy. Node's own randomUUID() batches
 * the same way.
 */
const POOL_SIZE = 4096;
const pool = Buffer.alloc(POOL_SIZE);
let offset = POOL_SIZE;

/** `bytes` (1 to 256) fresh random bytes, base64url-encoded. */
export function randomId(bytes = 16): string {
  if (!Number.isInteger(bytes) || bytes < 1 || bytes > 256)
    throw new RangeError('randomId takes 1 to 256 bytes');
  if (offset + bytes > POOL_SIZE) {
    randomFillSync(pool);
    offset = 0;
  }
  const id = pool.toString('base64url', offset, offset + bytes);
  // Never handed out twice, and not left readable in the pool either.
  pool.fill(0, offset, offset + bytes);
  offset += bytes;
  return id;
}
