// A pcap stream (tcpdump -w -) cut into records as bytes arrive: chunks from a pipe end anywhere, so the parser
// keeps the tail of the last chunk until the next completes it. Byte order comes from the file's magic (tcpdump
// writes in the host's order); the nanosecond variant (0xa1b23c4d) is read as well.

export interface PcapHeader {
  linkType: number;
  snapLen: number;
  littleEndian: boolean;
  nanoseconds: boolean;
}

export interface PcapRecord {
  /** Capture time in milliseconds since the epoch (libpcap stamps NFLOG records as it reads them). */
  timeMs: number;
  /** The captured bytes (for LINKTYPE_NFLOG: the nflog header and its TLVs). */
  data: Buffer;
  /** The length on the wire as libpcap saw it. */
  origLen: number;
}

const GLOBAL_HEADER = 24;
const RECORD_HEADER = 16;
/** Larger than any record tcpdump writes (its default snapshot is 262144): a bigger length is a corrupt stream. */
const MAX_RECORD = 1 << 20;

export class PcapStreamError extends Error {}

export class PcapStream {
  header: PcapHeader | undefined;
  private pending: Buffer = Buffer.alloc(0);

  /** Feeds bytes; returns the records they complete. Throws PcapStreamError on a stream that is not pcap. */
  push(chunk: Buffer): PcapRecord[] {
    let buf = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    let off = 0;
    const out: PcapRecord[] = [];
    if (!this.header) {
      if (buf.length < GLOBAL_HEADER) {
        this.pending = buf;
        return out;
      }
      this.header = readGlobalHeader(buf);
      off = GLOBAL_HEADER;
    }
    const { littleEndian: le, nanoseconds } = this.header;
    while (buf.length - off >= RECORD_HEADER) {
      const sec = le ? buf.readUInt32LE(off) : buf.readUInt32BE(off);
      const frac = le ? buf.readUInt32LE(off + 4) : buf.readUInt32BE(off + 4);
      const inclLen = le ? buf.readUInt32LE(off + 8) : buf.readUInt32BE(off + 8);
      const origLen = le ? buf.readUInt32LE(off + 12) : buf.readUInt32BE(off + 12);
      if (inclLen > MAX_RECORD) throw new PcapStreamError(`pcap record of ${inclLen} bytes at offset ${off}: not a pcap stream`);
      if (buf.length - off - RECORD_HEADER < inclLen) break;
      const start = off + RECORD_HEADER;
      // A copy: the record outlives this chunk (the aggregator may keep its payload fields).
      const data = Buffer.from(buf.subarray(start, start + inclLen));
      out.push({ timeMs: sec * 1000 + (nanoseconds ? frac / 1e6 : frac / 1e3), data, origLen });
      off = start + inclLen;
    }
    buf = buf.subarray(off);
    this.pending = buf.length === 0 ? Buffer.alloc(0) : Buffer.from(buf);
    return out;
  }
}

function readGlobalHeader(buf: Buffer): PcapHeader {
  const magicLE = buf.readUInt32LE(0);
  let littleEndian: boolean;
  let nanoseconds: boolean;
  if (magicLE === 0xa1b2c3d4 || magicLE === 0xa1b23c4d) {
    littleEndian = true;
    nanoseconds = magicLE === 0xa1b23c4d;
  } else {
    const magicBE = buf.readUInt32BE(0);
    if (magicBE !== 0xa1b2c3d4 && magicBE !== 0xa1b23c4d) {
      throw new PcapStreamError(`not a pcap stream (magic 0x${magicLE.toString(16)})`);
    }
    littleEndian = false;
    nanoseconds = magicBE === 0xa1b23c4d;
  }
  const snapLen = littleEndian ? buf.readUInt32LE(16) : buf.readUInt32BE(16);
  const linkType = (littleEndian ? buf.readUInt32LE(20) : buf.readUInt32BE(20)) & 0x0fffffff;
  return { linkType, snapLen, littleEndian, nanoseconds };
}
