import type { IncomingMessage } from 'node:http';
import getRawBody from 'raw-body';
import { ReceiverError } from './errors';

interface RawBodyError extends Error {
  type: string;
}

function isRawBodyError(error: unknown): error is RawBodyError {
  return error instanceof Error && typeof (error as Partial<RawBodyError>).type === 'string';
}

/**
 * The request body exactly as sent, at most `limitBytes` long. A Content-Length over the limit is
 * refused before a byte is read; a chunked body is cut off as soon as it passes the limit.
 */
export async function readRawBody(request: IncomingMessage, limitBytes: number): Promise<Buffer> {
  try {
    return await getRawBody(request, { limit: limitBytes, length: request.headers['content-length'] });
  } catch (error) {
    if (!isRawBodyError(error)) throw error;
    if (error.type === 'entity.too.large') {
      // Close rather than drain whatever else the sender wants to push.
      throw new ReceiverError(413, `body larger than ${limitBytes} bytes`, { Connection: 'close' });
    }
    if (error.type === 'request.size.invalid') throw new ReceiverError(400, 'body shorter or longer than Content-Length');
    if (error.type === 'request.aborted') throw new ReceiverError(400, 'request aborted');
    throw error;
  }
}
