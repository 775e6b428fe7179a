/** Checksums of corpus files. */
import { createHash } from 'node:crypto';

/** SHA-256 of the bytes (a string is hashed as its UTF-8 encoding), as 64 lowercase hex digits. */
export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}
