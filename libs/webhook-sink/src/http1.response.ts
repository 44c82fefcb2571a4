import type { IncomingHttpHeaders } from 'node:http';

/** Response heads larger than this are refused (Node's own default limit). */
export const MAX_RESPONSE_HEAD_BYTES = 16_384;

export interface ParsedResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** The start of the body, at most the parser's body limit. */
  body: string;
  /** The connection may carry another request: HTTP/1.1, no `connection: close`, the body read to its framed end. */
  reusable: boolean;
}

export class ResponseError extends Error {
  readonly code = 'HPE_INVALID_RESPONSE';
}

type Framing = { kind: 'none' } | { kind: 'length'; left: number } | { kind: 'chunked' } | { kind: 'close' };

/**
 * An incremental parser of one HTTP/1.1 response (RFC 9112), for the webhook client: status line and
 * headers, informational 1xx responses skipped, a body framed by Content-Length, chunked coding or the
 * end of the connection. Only the first `bodyLimit` bytes of the body are kept: past them the response is
 * complete at once and the connection is not reused (it is not worth reading on). Pure: bytes in, a
 * response out, no I/O.
 */
export class ResponseParser {
  private head = '';
  private status = 0;
  private headers: IncomingHttpHeaders = {};
  private keepAlive = false;
  private framing?: Framing;
  private kept: Buffer[] = [];
  private keptBytes = 0;
  /** Chunked coding: the bytes of the current chunk still to come, or -1 between chunks. */
  private chunkLeft = -1;
  private chunkLine = '';
  private trailers = false;
  private result?: ParsedResponse;

  constructor(private readonly bodyLimit: number) {}

  /** True once any byte of a response came (a stale kept-alive connection closes before that). */
  started = false;

  /** Feeds bytes; returns the response once it is complete. Throws ResponseError on a malformed response. */
  feed(data: Buffer): ParsedResponse | undefined {
    if (data.length) this.started = true;
    let rest = data;
    while (!this.result && rest.length) {
      rest = this.framing ? this.body(rest) : this.readHead(rest);
    }
    if (this.result && rest.length) this.result.reusable = false; // bytes nobody asked for: drop the connection
    return this.result;
  }

  /** The connection ended: completes a body framed by the close, else the response is cut short. */
  end(): ParsedResponse | undefined {
    if (!this.result && this.framing?.kind === 'close') this.complete(false);
    return this.result;
  }

  private readHead(data: Buffer): Buffer {
    const text = this.head + data.toString('latin1');
    const blank = findBlankLine(text);
    if (!blank) {
      if (text.length > MAX_RESPONSE_HEAD_BYTES) throw new ResponseError('response head too large');
      this.head = text;
      return Buffer.alloc(0);
    }
    if (blank.end > MAX_RESPONSE_HEAD_BYTES) throw new ResponseError('response head too large');
    const consumed = blank.end - this.head.length;
    this.head = '';
    this.parseHead(text.slice(0, blank.start));
    return data.subarray(consumed);
  }

  private parseHead(head: string): void {
    const lines = head.split(/\r?\n/);
    const statusLine = /^HTTP\/1\.([01]) ([1-9]\d\d)(?: .*)?$/.exec(lines[0]);
    if (!statusLine) throw new ResponseError(`invalid status line: ${JSON.stringify(lines[0].slice(0, 100))}`);
    const status = Number(statusLine[2]);
    const headers: IncomingHttpHeaders = {};
    for (let i = 1; i < lines.length; i++) {
      const colon = lines[i].indexOf(':');
      if (colon <= 0) throw new ResponseError(`invalid header line: ${JSON.stringify(lines[i].slice(0, 100))}`);
      const name = lines[i].slice(0, colon).trim().toLowerCase();
      const value = lines[i].slice(colon + 1).trim();
      const seen = headers[name];
      if (name === 'set-cookie') headers[name] = [...((seen as string[] | undefined) ?? []), value];
      else headers[name] = seen === undefined ? value : `${seen as string}, ${value}`;
    }
    if (status < 200 && status !== 101) return; // informational (100 Continue, 103 Early Hints): the real one follows
    const tokens = (name: string): string[] =>
      String(headers[name] ?? '')
        .toLowerCase()
        .split(',')
        .map((t) => t.trim());
    this.status = status;
    this.headers = headers;
    this.keepAlive = statusLine[1] === '1' && status !== 101 && !tokens('connection').includes('close');
    this.framing = framingOf(status, headers, tokens('transfer-encoding'));
    if (this.framing.kind === 'close') this.keepAlive = false;
    if (this.framing.kind === 'none' || (this.framing.kind === 'length' && this.framing.left === 0)) this.complete(true);
  }

  private body(data: Buffer): Buffer {
    const framing = this.framing as Framing;
    if (framing.kind === 'length') {
      const take = Math.min(framing.left, data.length);
      framing.left -= take;
      if (this.keep(data.subarray(0, take)) || framing.left === 0) this.complete(framing.left === 0);
      return data.subarray(take);
    }
    if (framing.kind === 'close') {
      if (this.keep(data)) this.complete(false);
      return Buffer.alloc(0);
    }
    return this.chunked(data);
  }

  private chunked(data: Buffer): Buffer {
    if (this.chunkLeft > 0) {
      const take = Math.min(this.chunkLeft, data.length);
      this.chunkLeft -= take;
      if (this.keep(data.subarray(0, take))) this.complete(false);
      if (this.chunkLeft === 0) this.chunkLeft = -2; // the CRLF after the chunk's data comes next
      return data.subarray(take);
    }
    const newline = data.indexOf(10);
    const part = data.toString('latin1', 0, newline < 0 ? data.length : newline + 1);
    this.chunkLine += part;
    if (this.chunkLine.length > 4_096) throw new ResponseError('chunk header too long');
    if (newline < 0) return Buffer.alloc(0);
    const line = this.chunkLine.replace(/\r?\n$/, '');
    this.chunkLine = '';
    if (this.chunkLeft === -2) {
      if (line !== '') throw new ResponseError('chunk data not followed by a line break');
      this.chunkLeft = -1;
    } else if (this.trailers) {
      if (line === '') this.complete(true); // the blank line after the trailer fields ends the response
    } else {
      const size = /^([0-9a-fA-F]{1,12})[ \t]*(?:;.*)?$/.exec(line);
      if (!size) throw new ResponseError(`invalid chunk size: ${JSON.stringify(line.slice(0, 40))}`);
      const bytes = parseInt(size[1], 16);
      if (bytes === 0) this.trailers = true;
      else this.chunkLeft = bytes;
    }
    return data.subarray(part.length);
  }

  /** Keeps body bytes up to the limit; true once the limit is passed (the rest is not read). */
  private keep(bytes: Buffer): boolean {
    const room = this.bodyLimit - this.keptBytes;
    if (room > 0 && bytes.length) this.kept.push(bytes.subarray(0, room));
    this.keptBytes += bytes.length;
    return this.keptBytes > this.bodyLimit;
  }

  private complete(framedEnd: boolean): void {
    this.result = {
      status: this.status,
      headers: this.headers,
      body: this.kept.length ? Buffer.concat(this.kept).toString('utf8') : '',
      reusable: this.keepAlive && framedEnd,
    };
  }
}

/** Where the head ends: CRLF CRLF, or bare LFs (tolerated, as Node's parser does). */
function findBlankLine(text: string): { start: number; end: number } | undefined {
  const crlf = text.indexOf('\r\n\r\n');
  const lf = text.indexOf('\n\n');
  if (crlf < 0 && lf < 0) return undefined;
  if (lf < 0 || (crlf >= 0 && crlf < lf)) return { start: crlf, end: crlf + 4 };
  return { start: lf, end: lf + 2 };
}

/** How the body ends (RFC 9112 §6.3). */
function framingOf(status: number, headers: IncomingHttpHeaders, codings: string[]): Framing {
  if (status === 204 || status === 304 || status === 101) return { kind: 'none' };
  if (headers['transfer-encoding'] !== undefined) {
    // Chunked last: the body is framed by it (a Content-Length beside it is ignored); else it runs to the close.
    return codings[codings.length - 1] === 'chunked' ? { kind: 'chunked' } : { kind: 'close' };
  }
  const length = headers['content-length'];
  if (length === undefined) return { kind: 'close' };
  const values = new Set(
    String(length)
      .split(',')
      .map((v) => v.trim()),
  );
  const [value] = values;
  if (values.size !== 1 || !/^\d{1,15}$/.test(value)) throw new ResponseError(`invalid content-length: ${String(length)}`);
  return { kind: 'length', left: Number(value) };
}
