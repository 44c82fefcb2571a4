import type { PgoutputMessage, RawValue, Relation } from './pgoutput-types';
import { UNCHANGED_TOAST } from './pgoutput-types';

/** Microseconds from the Unix epoch to Postgres' epoch (2000-01-01). */
const PG_EPOCH_MS = 946_684_800_000;

/**
 * Decodes pgoutput (protocol version 1) messages. Values are kept as the text the server sent, with
 * NULL and "unchanged TOAST" kept apart, so the envelope renderer decides every type's JSON form.
 * https://www.postgresql.org/docs/current/protocol-logicalrep-message-formats.html
 */
export function decodePgoutput(buf: Buffer): PgoutputMessage {
  const r = new Reader(buf);
  const tag = String.fromCharCode(r.u8());
  switch (tag) {
    case 'B':
      return { tag: 'begin', finalLsn: r.u64(), commitTimeMs: r.timestampMs(), xid: r.u32() };
    case 'C': {
      r.u8(); // flags, unused
      return { tag: 'commit', commitLsn: r.u64(), endLsn: r.u64(), commitTimeMs: r.timestampMs() };
    }
    case 'O':
      return { tag: 'origin', lsn: r.u64(), name: r.cstring() };
    case 'R':
      return { tag: 'relation', relation: readRelation(r) };
    case 'Y':
      return { tag: 'type', oid: r.u32(), schema: r.cstring(), name: r.cstring() };
    case 'I': {
      const relationOid = r.u32();
      r.expect('N');
      return { tag: 'insert', relationOid, newTuple: readTuple(r) };
    }
    case 'U': {
      const relationOid = r.u32();
      let kind = String.fromCharCode(r.u8());
      let oldKind: 'K' | 'O' | null = null;
      let oldTuple: RawValue[] | null = null;
      if (kind === 'K' || kind === 'O') {
        oldKind = kind;
        oldTuple = readTuple(r);
        kind = String.fromCharCode(r.u8());
      }
      if (kind !== 'N') throw new Error(`pgoutput: unexpected update submessage "${kind}"`);
      return { tag: 'update', relationOid, oldKind, oldTuple, newTuple: readTuple(r) };
    }
    case 'D': {
      const relationOid = r.u32();
      const kind = String.fromCharCode(r.u8());
      if (kind !== 'K' && kind !== 'O') throw new Error(`pgoutput: unexpected delete submessage "${kind}"`);
      return { tag: 'delete', relationOid, oldKind: kind, oldTuple: readTuple(r) };
    }
    case 'T': {
      const count = r.u32();
      const flags = r.u8();
      const relationOids: number[] = [];
      for (let i = 0; i < count; i++) relationOids.push(r.u32());
      return { tag: 'truncate', relationOids, cascade: (flags & 1) !== 0, restartIdentity: (flags & 2) !== 0 };
    }
    case 'M': {
      const flags = r.u8();
      const lsn = r.u64();
      const prefix = r.cstring();
      const length = r.u32();
      return { tag: 'message', transactional: (flags & 1) !== 0, lsn, prefix, content: r.bytes(length) };
    }
    default:
      throw new Error(`pgoutput: unknown message type "${tag}"`);
  }
}

function readRelation(r: Reader): Relation {
  const oid = r.u32();
  const schema = r.cstring();
  const name = r.cstring();
  const ident = String.fromCharCode(r.u8());
  const replicaIdentity = ({ d: 'default', n: 'nothing', f: 'full', i: 'index' } as const)[ident as 'd' | 'n' | 'f' | 'i'];
  if (!replicaIdentity) throw new Error(`pgoutput: unknown replica identity "${ident}"`);
  const count = r.u16();
  const columns = [];
  for (let i = 0; i < count; i++) {
    const flags = r.u8();
    columns.push({ isKey: (flags & 1) !== 0, name: r.cstring(), typeOid: r.u32(), typeMod: r.i32() });
  }
  return { oid, schema, name, replicaIdentity, columns };
}

function readTuple(r: Reader): RawValue[] {
  const count = r.u16();
  const values = new Array<RawValue>(count);
  for (let i = 0; i < count; i++) {
    const kind = r.u8();
    if (kind === 0x74 /* t */) values[i] = r.text(r.u32());
    else if (kind === 0x6e /* n */) values[i] = null;
    else if (kind === 0x75 /* u */) values[i] = UNCHANGED_TOAST;
    else throw new Error(`pgoutput: unsupported tuple value kind "${String.fromCharCode(kind)}"`);
  }
  return values;
}

class Reader {
  private pos = 0;
  constructor(private readonly buf: Buffer) {}

  u8(): number {
    return this.buf[this.pos++];
  }
  u16(): number {
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  u32(): number {
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  i32(): number {
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  u64(): bigint {
    const v = this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    return v;
  }
  timestampMs(): number {
    const micros = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return Number(micros / 1000n) + PG_EPOCH_MS;
  }
  cstring(): string {
    const end = this.buf.indexOf(0, this.pos);
    const s = this.buf.toString('utf8', this.pos, end);
    this.pos = end + 1;
    return s;
  }
  text(length: number): string {
    const s = this.buf.toString('utf8', this.pos, this.pos + length);
    this.pos += length;
    return s;
  }
  bytes(length: number): Buffer {
    const b = this.buf.subarray(this.pos, this.pos + length);
    this.pos += length;
    return b;
  }
  expect(char: string): void {
    const got = String.fromCharCode(this.u8());
    if (got !== char) throw new Error(`pgoutput: expected "${char}", got "${got}"`);
  }
}
