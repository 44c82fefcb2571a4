import { readFileSync } from 'node:fs';

/** Counts per pgoutput message type in a pg_recvlogical output file. */
export interface PgoutputCounts {
  begin: number;
  commit: number;
  relation: number;
  insert: number;
  update: number;
  delete: number;
  other: number;
  bytes: number;
}

/**
 * Walks a file written by `pg_recvlogical -o proto_version=1 ... -f <file>` (each pgoutput message
 * followed by a newline) and counts the messages by type: proof that the baseline really decoded the
 * rows with pgoutput rather than, say, streaming nothing. Throws on anything that is not pgoutput v1.
 */
export function countPgoutput(path: string): PgoutputCounts {
  const buf = readFileSync(path);
  const counts: PgoutputCounts = {
    begin: 0,
    commit: 0,
    relation: 0,
    insert: 0,
    update: 0,
    delete: 0,
    other: 0,
    bytes: buf.length,
  };
  let pos = 0;
  const u8 = () => buf[pos++];
  const skip = (n: number) => (pos += n);
  const i16 = () => {
    const v = buf.readInt16BE(pos);
    pos += 2;
    return v;
  };
  const i32 = () => {
    const v = buf.readInt32BE(pos);
    pos += 4;
    return v;
  };
  const cstring = () => {
    const end = buf.indexOf(0, pos);
    if (end < 0) throw new Error(`pgoutput: unterminated string at byte ${pos}`);
    pos = end + 1;
  };
  const tuple = () => {
    const columns = i16();
    for (let c = 0; c < columns; c++) {
      const kind = String.fromCharCode(u8());
      if (kind === 't' || kind === 'b') skip(i32());
      else if (kind !== 'n' && kind !== 'u') throw new Error(`pgoutput: bad tuple column kind "${kind}" at byte ${pos - 1}`);
    }
  };
  while (pos < buf.length) {
    const tag = String.fromCharCode(u8());
    switch (tag) {
      case 'B':
        skip(20);
        counts.begin++;
        break;
      case 'C':
        skip(25);
        counts.commit++;
        break;
      case 'R': {
        skip(4);
        cstring();
        cstring();
        skip(1);
        const columns = i16();
        for (let c = 0; c < columns; c++) {
          skip(1);
          cstring();
          skip(8);
        }
        counts.relation++;
        break;
      }
      case 'Y':
        skip(4);
        cstring();
        cstring();
        counts.other++;
        break;
      case 'O':
        skip(8);
        cstring();
        counts.other++;
        break;
      case 'I':
        skip(4);
        if (String.fromCharCode(u8()) !== 'N') throw new Error(`pgoutput: insert without new tuple at byte ${pos - 1}`);
        tuple();
        counts.insert++;
        break;
      case 'U': {
        skip(4);
        let kind = String.fromCharCode(u8());
        if (kind === 'K' || kind === 'O') {
          tuple();
          kind = String.fromCharCode(u8());
        }
        tuple();
        counts.update++;
        break;
      }
      case 'D':
        skip(5);
        tuple();
        counts.delete++;
        break;
      case 'T':
        skip(5 + 4 * i32());
        counts.other++;
        break;
      case 'M':
        skip(9);
        cstring();
        skip(i32());
        counts.other++;
        break;
      default:
        throw new Error(`pgoutput: unknown message type "${tag}" at byte ${pos - 1}: is this pgoutput output?`);
    }
    if (buf[pos] !== 0x0a) throw new Error(`pgoutput: message "${tag}" not followed by pg_recvlogical's newline at byte ${pos}`);
    pos++;
  }
  return counts;
}
